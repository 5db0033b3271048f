/* mqtt.c: a Fluksometer's readings, live from an MQTT broker (libmosquitto).
 * One thread: mosquitto_loop is called here, so the messages, the
 * signals and the reconnections are handled one after the other, and a
 * record is never cut by a signal. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <mosquitto.h>

#include "og.h"

#define KEEPALIVE 60		/* seconds */
#define BACKOFF_MAX 60		/* seconds between tries, at most */
#define SLICE 0.5		/* seconds: how long a signal may wait */
#define TOPIC_SHOWN 120		/* bytes of a topic shown in a message */
#define BURST 256		/* messages read before the records go out */
#define CERT_DIR "/etc/ssl/certs"	/* Debian's, as OpenSSL's default */

struct og_mqtt {
	struct og_mqtt_opts o;
	struct og_mqtt_addr a;
	char shown[sizeof "mqtts://[]:65535" +
	    sizeof ((struct og_mqtt_addr *)0)->host];
	struct mosquitto *m;
	char *user, *password;
	char **sensors;		/* sorted; none: every sensor */
	size_t nsensors;
	char **topics;
	size_t ntopics;
	struct og_json j;
	double last;		/* when the last message came, or the start */
	double wait;		/* before the next try to connect */
	int up;			/* the broker took the connection */
	int ever, lost, bad;
	char why[256];		/* why the broker refused, or what TLS said */
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

const char *
og_mqtt_url(const char *url, struct og_mqtt_addr *a)
{
	const char *p, *host, *end;
	size_t n;
	int64_t port;

	if (strncasecmp(url, "mqtt://", 7) == 0) {
		a->tls = 0;
		a->port = 1883;
		p = url + 7;
	} else if (strncasecmp(url, "mqtts://", 8) == 0) {
		a->tls = 1;
		a->port = 8883;
		p = url + 8;
	} else {
		return "not an mqtt:// or mqtts:// URL";
	}
	n = strcspn(p, "/?#");
	if (memchr(p, '@', n))
		return "a user or password in the URL would show in the "
		    "process list: give them in a file with -K";
	if (*p == '[') {
		host = p + 1;
		if (!(end = memchr(host, ']', n)))
			return "no ']' after an IPv6 address";
		p = end + 1;
	} else {
		host = p;
		end = p + strcspn(p, ":/?#");
		p = end;
	}
	if (end == host || (size_t)(end - host) >= sizeof a->host)
		return "no host, or a host name too long";
	memcpy(a->host, host, end - host);
	a->host[end - host] = '\0';
	if (*p == ':') {
		n = strcspn(++p, "/?#");
		if (og_parse_int64(p, n, &port) < 0 || port < 1 || port > 65535)
			return "bad port (1 to 65535)";
		a->port = port;
		p += n;
	}
	if (strcmp(p, "") != 0 && strcmp(p, "/") != 0)
		return "a path, query or fragment after the port";
	return NULL;
}

#define SENSOR_TOPICS "(/sensor/ID/counter, /sensor/ID/gauge or " \
	"/sensor/ID/tmpo/RID/LVL/BID/gz)"

/* The digits of a topic level: an integer without sign or spaces. */
static int
level_int(const char *s, size_t n, int64_t *v)
{
	return n == 0 || n > 18 || strspn(s, "0123456789") < n ||
	    og_parse_int64(s, n, v) < 0 ? -1 : 0;
}

static const char *
tmpo_topic(const char *p, struct og_mqtt_topic *tp, char *why,
    size_t whysize)
{
	int64_t v[3], span;
	size_t i, n;

	for (i = 0; i < 3; i++) {
		n = strcspn(p, "/");
		if (p[n] != '/' || level_int(p, n, &v[i]) < 0)
			return og_why(why, whysize, "not a sensor topic "
			    SENSOR_TOPICS);
		p += n + 1;
	}
	if (strcmp(p, "gz") != 0)
		return og_why(why, whysize, "not a sensor topic " SENSOR_TOPICS);
	if (v[1] > 40 || v[2] % (span = (int64_t)1 << v[1]) != 0 ||
	    v[2] > INT64_MAX - span)
		return og_why(why, whysize, "bad block lvl %jd bid %jd",
		    (intmax_t)v[1], (intmax_t)v[2]);
	tp->id.rid = v[0];
	tp->id.lvl = v[1];
	tp->id.bid = v[2];
	return NULL;
}

const char *
og_mqtt_topic(const char *topic, struct og_mqtt_topic *tp, char *why,
    size_t whysize)
{
	const char *p = topic + 8, *kind = p + strcspn(p, "/");

	if (strncmp(topic, "/sensor/", 8) != 0 || *kind != '/')
		return og_why(why, whysize, "not a sensor topic " SENSOR_TOPICS);
	if (!og_tmpo_sensor_ok(p, kind - p))
		return og_why(why, whysize, "bad sensor id (expected 32 hex digits)");
	memcpy(tp->sensor, p, 32);
	tp->sensor[32] = '\0';
	kind++;
	if (strcmp(kind, "counter") == 0)
		tp->kind = OG_MQTT_COUNTER;
	else if (strcmp(kind, "gauge") == 0)
		tp->kind = OG_MQTT_GAUGE;
	else if (strncmp(kind, "tmpo/", 5) == 0)
		tp->kind = OG_MQTT_TMPO;
	else
		return og_why(why, whysize, "not a sensor topic " SENSOR_TOPICS);
	return tp->kind == OG_MQTT_TMPO ?
	    tmpo_topic(kind + 5, tp, why, whysize) : NULL;
}

const char *
og_mqtt_reading(struct og_json *j, const char *payload, size_t len,
    int64_t *t, double *v, char *why, size_t whysize)
{
	const char *err;
	size_t pos, vi;

	if ((err = og_json_parse(j, payload, len, &pos)))
		return og_why(why, whysize, "bad JSON at byte %zu: %s", pos, err);
	if (j->tok[0].type != OG_JSON_ARRAY || j->tok[0].size < 2 ||
	    j->tok[0].size > 3)
		return og_why(why, whysize, "not [time, value] or "
		    "[time, value, \"unit\"]");
	if (og_json_int64(j, 1, t) < 0)
		return og_why(why, whysize, "bad time (not an integer)");
	vi = j->tok[1].next;
	if (og_json_double(j, vi, v) < 0)
		return og_why(why, whysize, "bad value (not a number)");
	if (j->tok[0].size == 3 && j->tok[j->tok[vi].next].type !=
	    OG_JSON_STRING)
		return og_why(why, whysize, "bad unit (not a string)");
	return NULL;
}

struct og_mqtt *
og_mqtt_new(const struct og_mqtt_opts *o, const char **why)
{
	struct og_mqtt *q = og_calloc(1, sizeof *q);

	q->o = *o;
	if ((*why = og_mqtt_url(o->url, &q->a))) {
		free(q);
		return NULL;
	}
	snprintf(q->shown, sizeof q->shown, strchr(q->a.host, ':') ?
	    "%s://[%s]:%d" : "%s://%s:%d", q->a.tls ? "mqtts" : "mqtt",
	    q->a.host, q->a.port);
	return q;
}

static int
cmp_sensor(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
og_mqtt_add(struct og_mqtt *q, const char *sensor)
{
	char *s = og_strdup(sensor);
	size_t i;

	for (i = 0; i < q->nsensors; i++)
		if (strcmp(q->sensors[i], s) == 0) {
			free(s);
			return -1;
		}
	q->sensors = og_reallocarray(q->sensors, q->nsensors + 1,
	    sizeof *q->sensors);
	q->sensors[q->nsensors++] = s;
	return 0;
}

void
og_mqtt_login(struct og_mqtt *q, const char *user, const char *password)
{
	q->user = og_strdup(user);
	q->password = og_strdup(password);
}

static int
wanted(struct og_mqtt *q, const char *sensor)
{
	return q->nsensors == 0 || bsearch(&sensor, q->sensors, q->nsensors,
	    sizeof *q->sensors, cmp_sensor);
}

static void
bad(struct og_mqtt *q, const char *topic, const char *why)
{
	char shown[OG_PRINTABLE_SIZE(TOPIC_SHOWN)];

	og_printable(shown, topic, strlen(topic), TOPIC_SHOWN);
	og_warn("%s: %s", shown, why);
	q->bad = 1;
}

static void
tmpo(struct og_mqtt *q, const char *topic, const struct og_mqtt_topic *tp,
    const void *payload, size_t len)
{
	struct og_tmpo_data d;
	char why[256];
	size_t i;

	if (og_tmpo_block(payload, len, tp->id.bid, tp->id.lvl, !q->o.strict,
	    &d, why, sizeof why)) {
		bad(q, topic, why);
		return;
	}
	if (d.salvaged && !q->o.quiet)
		og_warn("%s: salvaged: %zu extra v entr%s at child boundaries",
		    topic, d.salvaged, d.salvaged == 1 ? "y" : "ies");
	for (i = 0; i < d.n; i++)
		og_out_record(tp->sensor, 32, d.t[i], d.v[i]);
	free(d.t);
	free(d.v);
}

static void
message(struct og_mqtt *q, const char *topic, const void *payload, size_t len)
{
	struct og_mqtt_topic tp;
	char why[256], key[64];
	int64_t t;
	double v;

	if (og_mqtt_topic(topic, &tp, why, sizeof why)) {
		bad(q, topic, why);
		return;
	}
	if (!wanted(q, tp.sensor))
		return;
	if (tp.kind == OG_MQTT_TMPO) {
		tmpo(q, topic, &tp, payload, len);
		return;
	}
	if (og_mqtt_reading(&q->j, payload, len, &t, &v, why, sizeof why)) {
		bad(q, topic, why);
		return;
	}
	memcpy(key, tp.sensor, 32);
	memcpy(key + 32, "/gauge", 6);
	og_out_record(key, tp.kind == OG_MQTT_GAUGE ? 38 : 32, t, v);
}

static void
on_message(struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
	struct og_mqtt *q = arg;

	(void)m;
	q->last = og_fetch_now();
	/* libmosquitto ends a payload with a NUL, as the JSON reader needs */
	message(q, msg->topic, msg->payload ? msg->payload : "",
	    msg->payloadlen);
	og_out_flush();
}

static void
on_connect(struct mosquitto *m, void *arg, int rc)
{
	struct og_mqtt *q = arg;

	if (rc != 0) {
		snprintf(q->why, sizeof q->why, "%s", mosquitto_connack_string(rc));
		return;
	}
	if (q->lost)
		og_warn("%s: connected again", q->shown);
	else if (q->o.verbose)
		og_warn("%s: connected", q->shown);
	q->up = q->ever = 1;
	q->lost = 0;
	q->wait = q->o.backoff;
	q->why[0] = '\0';
	rc = mosquitto_subscribe_multiple(m, NULL, q->ntopics, q->topics, 1, 0,
	    NULL);
	if (rc != MOSQ_ERR_SUCCESS)
		og_warn("%s: cannot subscribe: %s", q->shown,
		    mosquitto_strerror(rc));
}

static void
on_subscribe(struct mosquitto *m, void *arg, int mid, int n, const int *qos)
{
	struct og_mqtt *q = arg;
	int i;

	(void)m;
	(void)mid;
	if (q->o.verbose)
		og_warn("%s: subscribed to %d topic%s", q->shown, n,
		    n == 1 ? "" : "s");
	for (i = 0; i < n && (size_t)i < q->ntopics; i++) {
		if (qos[i] == 0x80) {
			og_warn("%s: %s: the broker refused the subscription",
			    q->shown, q->topics[i]);
			q->bad = 1;
		} else if (qos[i] < 1 && q->o.verbose) {
			og_warn("%s: %s: granted QoS 0 only", q->shown,
			    q->topics[i]);
		}
	}
}

/* What TLS says goes with the failure it explains. */
static void
on_log(struct mosquitto *m, void *arg, int level, const char *text)
{
	struct og_mqtt *q = arg;

	(void)m;
	if (level == MOSQ_LOG_ERR)
		snprintf(q->why, sizeof q->why, "%s", text);
}

static void
add_topic(struct og_mqtt *q, const char *sensor, const char *what)
{
	q->topics = og_reallocarray(q->topics, q->ntopics + 1,
	    sizeof *q->topics);
	if (asprintf(&q->topics[q->ntopics++], "/sensor/%s/%s", sensor,
	    what) < 0)
		og_die("out of memory");
}

static void
make_topics(struct og_mqtt *q)
{
	size_t i;

	if (q->nsensors)
		qsort(q->sensors, q->nsensors, sizeof *q->sensors, cmp_sensor);
	for (i = 0; i < (q->nsensors ? q->nsensors : 1); i++) {
		add_topic(q, q->nsensors ? q->sensors[i] : "+", "counter");
		add_topic(q, q->nsensors ? q->sensors[i] : "+", "gauge");
		add_topic(q, q->nsensors ? q->sensors[i] : "+", "tmpo/#");
	}
}

static void
setup(struct og_mqtt *q)
{
	const char *cafile = getenv("SSL_CERT_FILE"), *capath;
	struct mosquitto *m;
	int rc = MOSQ_ERR_SUCCESS;

	if (cafile && !*cafile)
		cafile = NULL;
	if (!(capath = getenv("SSL_CERT_DIR")) || !*capath)
		capath = CERT_DIR;

	mosquitto_lib_init();
	if (!(m = q->m = mosquitto_new(q->o.id, !q->o.id, q)))
		og_die("%s: cannot make a client: %s", q->shown, strerror(errno));
	mosquitto_connect_callback_set(m, on_connect);
	mosquitto_message_callback_set(m, on_message);
	mosquitto_subscribe_callback_set(m, on_subscribe);
	mosquitto_log_callback_set(m, on_log);
	if (q->user) {
		rc = mosquitto_username_pw_set(m, q->user, q->password);
		explicit_bzero(q->password, strlen(q->password));
	}
	if (rc == MOSQ_ERR_SUCCESS && q->a.tls)
		rc = mosquitto_tls_set(m, cafile, cafile ? NULL : capath, NULL,
		    NULL, NULL);
	if (rc == MOSQ_ERR_SUCCESS && q->a.tls && q->o.insecure &&
	    (rc = mosquitto_tls_opts_set(m, 0, NULL, NULL)) == MOSQ_ERR_SUCCESS)
		rc = mosquitto_tls_insecure_set(m, 1);
	if (rc != MOSQ_ERR_SUCCESS)
		og_die("%s: %s", q->shown, mosquitto_strerror(rc));
	make_topics(q);
}

static const char *
error_text(int rc)
{
	return rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
}

/* Sleeps up to s seconds, less if a signal comes or the idle time ends. */
static void
pause_for(struct og_mqtt *q, double s)
{
	struct timespec ts;
	double left;

	if (q->o.idle > 0 && (left = q->last + q->o.idle - og_fetch_now()) < s)
		s = left > 0 ? left : 0;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* The connection is down: say why, then wait, longer each time. */
static void
down(struct og_mqtt *q, const char *what, int rc)
{
	if (stop)
		return;
	if (q->why[0])
		og_warn("%s: %s: %s (%s); trying again in %g s", q->shown, what,
		    error_text(rc), q->why, q->wait);
	else
		og_warn("%s: %s: %s; trying again in %g s", q->shown, what,
		    error_text(rc), q->wait);
	q->why[0] = '\0';
	q->up = 0;
	q->lost = 1;
	pause_for(q, q->wait);
	q->wait = q->wait * 2 > BACKOFF_MAX ? BACKOFF_MAX : q->wait * 2;
	if (q->wait < q->o.backoff)
		q->wait = q->o.backoff;
}

static int
idle_over(struct og_mqtt *q)
{
	return q->o.idle > 0 && og_fetch_now() >= q->last + q->o.idle;
}

/* The messages waiting, up to BURST, their records written out before
 * any wait: mosquitto_loop would take one message a call, with a pselect
 * and a write of the records each; this takes one poll a burst. */
static int
serve(struct og_mqtt *q, int ms)
{
	struct pollfd p = { mosquitto_socket(q->m), POLLIN, 0 };
	int rc = MOSQ_ERR_SUCCESS, n;

	if (p.fd < 0)
		return MOSQ_ERR_NO_CONN;
	if (mosquitto_want_write(q->m))
		p.events |= POLLOUT;
	if (poll(&p, 1, ms) < 0)
		return errno == EINTR ? MOSQ_ERR_SUCCESS : MOSQ_ERR_ERRNO;
	if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
		for (n = 0; n < BURST && rc == MOSQ_ERR_SUCCESS; n++) {
			errno = 0;
			rc = mosquitto_loop_read(q->m, 1);
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
		}
		og_out_flush();
		if (rc != MOSQ_ERR_SUCCESS)
			return rc;
	}
	if (mosquitto_socket(q->m) < 0)
		return MOSQ_ERR_CONN_LOST;
	if (mosquitto_want_write(q->m) &&
	    (rc = mosquitto_loop_write(q->m, 1)) != MOSQ_ERR_SUCCESS)
		return rc;
	return mosquitto_loop_misc(q->m);
}

/* Milliseconds serve may wait for the socket. */
static int
loop_wait(struct og_mqtt *q)
{
	double s = SLICE, left;

	if (q->o.idle > 0 && (left = q->last + q->o.idle - og_fetch_now()) < s)
		s = left > 0 ? left : 0;
	return (int)(s * 1000);
}

static void
signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;	/* no SA_RESTART: waits end at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;	/* a closed pipe is a write error */
	sigaction(SIGPIPE, &sa, NULL);
}

int
og_mqtt_run(struct og_mqtt *q)
{
	int rc, connected = 0;

	signals();
	setup(q);
	q->wait = q->o.backoff;
	q->last = og_fetch_now();
	while (!stop && !idle_over(q)) {
		if (!connected) {
			rc = mosquitto_connect(q->m, q->a.host, q->a.port,
			    KEEPALIVE);
			if (rc != MOSQ_ERR_SUCCESS) {
				down(q, "cannot connect", rc);
				continue;
			}
			connected = 1;
		}
		rc = serve(q, loop_wait(q));
		if (rc != MOSQ_ERR_SUCCESS) {
			connected = 0;
			down(q, q->up ? "connection lost" : "cannot connect", rc);
		}
	}
	if (connected)
		mosquitto_disconnect(q->m);
	mosquitto_destroy(q->m);
	q->m = NULL;
	mosquitto_lib_cleanup();
	if (!q->ever)
		og_warn("%s: never connected", q->shown);
	return q->bad || !q->ever;
}

void
og_mqtt_free(struct og_mqtt *q)
{
	size_t i;

	if (!q)
		return;
	for (i = 0; i < q->nsensors; i++)
		free(q->sensors[i]);
	for (i = 0; i < q->ntopics; i++)
		free(q->topics[i]);
	free(q->sensors);
	free(q->topics);
	if (q->password)
		explicit_bzero(q->password, strlen(q->password));
	free(q->password);
	free(q->user);
	og_json_free(&q->j);
	free(q);
}
