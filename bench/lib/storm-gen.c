/*
 * The storm's native load generator (BENCH_STORM_CLIENT=native): the same
 * clients as lib/storm-clients.mjs, on one epoll loop in C, so that reading
 * 5,000 replays costs the machine little and no head is read late because
 * the generator was busy. Built by lib/storm-native.mjs with the system's cc.
 *
 * stdin:  <port> <n> <perTopic> <topics> <quietMs> <timeoutMs> <startAt ms>
 *         then per topic: <name> <id 0> ... <id perTopic-1>
 *         then per client: <t> <k> <due ms after startAt>
 * stdout: per client, in input order:
 *         <start> <connect> <head> <done> <status> <expected> <got> <duplicated>
 *         <reordered> <wrongId> <foreign> <failure or ->   (times: ms, monotonic, 0 = never)
 *         then: END <tOpened> <tEnd> <tLast> <cpuMs> <busy p99 ms> <busy max ms> <how it ended>
 *         and keeps its connections open until stdin ends.
 * Times are CLOCK_MONOTONIC in ms, the clock of Node's process.hrtime.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_LEN 1024
#define HEAD_MAX 4096

typedef struct {
  int t, k, fd, status, expected, got, maxSeq, duplicated, reordered, wrongId, foreign, ended;
  double due, startAt, connectAt, headAt, doneAt;
  const char *failure;
  int headLen, headDone, chunked, chunkLeft, skip, sizeLen, lineLen, hasData, overlong;
  char head[HEAD_MAX];
  char sizeLine[32];
  char line[LINE_MAX_LEN];
  char lastId[128];
  char data[128];
  unsigned char *seen;
} Client;

static char **names;  /* topic names */
static char ***ids;   /* ids[t][seq] */
static int perTopic, settled;
static double lastAt;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void finish(Client *c, const char *why) {
  if (c->ended) return;
  c->ended = 1;
  if (c->headAt == 0) c->failure = why;
  else if (c->doneAt == 0) c->failure = "closed_before_its_replay_was_complete";
  if (c->doneAt == 0) settled++;
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
}

/* One event dispatched: the checks of lib/storm-clients.mjs. */
static void event(Client *c) {
  lastAt = now();
  char *space = strchr(c->data, ' ');
  if (space == NULL) { c->foreign++; return; }
  *space = '\0';
  int seq = atoi(space + 1);
  if (strcmp(c->data, names[c->t]) != 0 || seq < 0 || seq >= perTopic) { c->foreign++; return; }
  if (seq <= c->k || c->seen[seq]) { c->duplicated++; return; }
  if (seq < c->maxSeq) c->reordered++;
  if (seq > c->maxSeq) c->maxSeq = seq;
  c->seen[seq] = 1;
  if (strcmp(c->lastId, ids[c->t][seq]) != 0) c->wrongId++;
  if (++c->got == c->expected) { c->doneAt = lastAt; settled++; }
}

/* One line of the body, as the EventSource parser reads it (data: the first line kept). */
static void line(Client *c, char *s, int n) {
  s[n] = '\0';
  if (n == 0) {
    if (c->hasData) event(c);
    c->hasData = 0;
    return;
  }
  if (s[0] == ':') return;
  char *colon = memchr(s, ':', n);
  char *value = colon ? colon + 1 : s + n;
  if (colon) *colon = '\0';
  if (*value == ' ') value++;
  if (strcmp(s, "data") == 0) {
    if (!c->hasData) snprintf(c->data, sizeof c->data, "%s", value);
    c->hasData = 1;
  } else if (strcmp(s, "id") == 0) {
    snprintf(c->lastId, sizeof c->lastId, "%s", value);
  }
}

/* Body bytes: split into lines (LF; a CR before it dropped). */
static void feed(Client *c, const char *p, int n) {
  for (int i = 0; i < n; i++) {
    char ch = p[i];
    if (ch == '\n') {
      int len = c->lineLen;
      if (len > 0 && c->line[len - 1] == '\r') len--;
      if (!c->overlong) line(c, c->line, len);
      c->lineLen = 0;
      c->overlong = 0;
    } else if (c->lineLen < LINE_MAX_LEN - 1) {
      c->line[c->lineLen++] = ch;
    } else {
      c->overlong = 1;
    }
  }
}

/* Undoes chunked transfer coding. */
static void unchunk(Client *c, const char *p, int n) {
  int at = 0;
  while (at < n && !c->ended) {
    if (c->skip > 0) {
      int m = c->skip < n - at ? c->skip : n - at;
      c->skip -= m;
      at += m;
    } else if (c->chunkLeft > 0) {
      int m = c->chunkLeft < n - at ? c->chunkLeft : n - at;
      feed(c, p + at, m);
      c->chunkLeft -= m;
      at += m;
      if (c->chunkLeft == 0) c->skip = 2;
    } else {
      char ch = p[at++];
      if (ch != '\n') {
        if (c->sizeLen < (int)sizeof c->sizeLine - 1) c->sizeLine[c->sizeLen++] = ch;
        continue;
      }
      c->sizeLine[c->sizeLen] = '\0';
      c->sizeLen = 0;
      long size = strtol(c->sizeLine, NULL, 16);
      if (size == 0) { finish(c, "closed_before_the_headers"); return; }
      c->chunkLeft = (int)size;
    }
  }
}

static void readable(Client *c, const char *p, int n) {
  if (!c->headDone) {
    int before = c->headLen;
    int room = HEAD_MAX - 1 - before;
    int take = n < room ? n : room;
    memcpy(c->head + before, p, take);
    c->headLen += take;
    c->head[c->headLen] = '\0';
    char *end = strstr(c->head, "\r\n\r\n");
    if (end == NULL) {
      if (c->headLen >= HEAD_MAX - 1) finish(c, "head_too_long");
      return;
    }
    c->headDone = 1;
    c->headAt = now();
    lastAt = c->headAt;
    if (sscanf(c->head, "HTTP/1.%*d %d", &c->status) != 1) { finish(c, "not_http"); return; }
    *end = '\0';
    c->chunked = strcasestr(c->head, "\r\ntransfer-encoding: chunked") != NULL;
    /* The terminator ends in this read (it was not in the last): the body starts here. */
    int used = (int)(end + 4 - c->head) - before;
    p += used;
    n -= used;
    if (n <= 0) return;
  }
  if (c->chunked) unchunk(c, p, n);
  else feed(c, p, n);
}

static int cmpDouble(const void *a, const void *b) { return (*(const double *)a > *(const double *)b) - (*(const double *)a < *(const double *)b); }

int main(void) {
  int port, n, topics;
  double quietMs, timeoutMs, startAt;
  if (scanf("%d %d %d %d %lf %lf %lf", &port, &n, &perTopic, &topics, &quietMs, &timeoutMs, &startAt) != 7) return 2;
  names = calloc(topics, sizeof *names);
  ids = calloc(topics, sizeof *ids);
  char word[512];
  for (int t = 0; t < topics; t++) {
    if (scanf("%511s", word) != 1) return 2;
    names[t] = strdup(word);
    ids[t] = calloc(perTopic, sizeof **ids);
    for (int s = 0; s < perTopic; s++) {
      if (scanf("%511s", word) != 1) return 2;
      ids[t][s] = strdup(word);
    }
  }
  Client *clients = calloc(n, sizeof *clients);
  for (int i = 0; i < n; i++) {
    Client *c = &clients[i];
    if (scanf("%d %d %lf", &c->t, &c->k, &c->due) != 3) return 2;
    c->fd = -1;
    c->maxSeq = -1;
    c->expected = perTopic - 1 - c->k;
    c->seen = calloc(perTopic, 1);
  }
  int ep = epoll_create1(0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  static char buf[65536];
  static struct epoll_event evs[256];
  double *busy = malloc(sizeof(double) * 1000000);
  int nbusy = 0;
  struct rusage ru0, ru1;
  while (now() < startAt) usleep(200);
  getrusage(RUSAGE_SELF, &ru0);
  lastAt = now();
  int opened = 0;
  double tOpened = 0;
  const char *ended = "every_client_has_its_replay_or_failed";
  for (;;) {
    double t = now();
    while (opened < n && clients[opened].due <= t - startAt) {
      Client *c = &clients[opened++];
      c->startAt = now();
      c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      int one = 1;
      setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) != 0 && errno != EINPROGRESS) {
        finish(c, "connect_failed");
        continue;
      }
      struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
      epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }
    if (opened == n && tOpened == 0) tOpened = now();
    if (opened == n && settled >= n) break;
    if (now() - lastAt > quietMs) { ended = "nothing_arrived_for_the_quiet_time"; break; }
    if (now() - startAt > timeoutMs) { ended = "timeout"; break; }
    int wait = opened < n ? 1 : 20;
    int got = epoll_wait(ep, evs, 256, wait);
    double b0 = now();
    for (int e = 0; e < got; e++) {
      Client *c = evs[e].data.ptr;
      if (c->ended) continue;
      if (c->connectAt == 0) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) { finish(c, "connect_failed"); continue; }
        c->connectAt = now();
        char req[1024];
        int m = snprintf(req, sizeof req,
                         "GET /events?topic=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: "
                         "text/event-stream\r\nCache-Control: no-cache\r\nLast-Event-ID: %s\r\n\r\n",
                         names[c->t], port, ids[c->t][c->k]);
        if (write(c->fd, req, m) != m) { finish(c, "write_failed"); continue; }
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        continue;
      }
      for (;;) {
        ssize_t r = read(c->fd, buf, sizeof buf);
        if (r > 0) {
          readable(c, buf, (int)r);
          if (c->ended) break;
          if (r < (ssize_t)sizeof buf) break;
        } else if (r == 0) {
          finish(c, "closed_before_the_headers");
          break;
        } else {
          if (errno != EAGAIN && errno != EINTR) finish(c, "read_failed");
          break;
        }
      }
    }
    if (got > 0 && nbusy < 1000000) busy[nbusy++] = now() - b0;
  }
  double tEnd = now();
  getrusage(RUSAGE_SELF, &ru1);
  double cpuMs = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) * 1e3 +
                 (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e3 +
                 (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1e3 +
                 (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e3;
  qsort(busy, nbusy, sizeof *busy, cmpDouble);
  double p99 = nbusy ? busy[(int)(0.99 * (nbusy - 1))] : 0, max = nbusy ? busy[nbusy - 1] : 0;
  for (int i = 0; i < n; i++) {
    Client *c = &clients[i];
    printf("%.3f %.3f %.3f %.3f %d %d %d %d %d %d %d %s\n", c->startAt, c->connectAt, c->headAt,
           c->doneAt, c->status, c->expected, c->got, c->duplicated, c->reordered, c->wrongId,
           c->foreign, c->failure ? c->failure : "-");
  }
  printf("END %.3f %.3f %.3f %.3f %.3f %.3f %s\n", tOpened ? tOpened : tEnd, tEnd, lastAt, cpuMs, p99, max,
         ended);
  fflush(stdout);
  /* The connections stay open until stdin closes (the storm's "close"), as lib/storm-clients.mjs keeps its. */
  while (fgets(word, sizeof word, stdin) != NULL) continue;
  return 0;
}
