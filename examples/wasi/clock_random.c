/* Clocks, sleeping (poll_oneoff), sched_yield and random bytes, printed as facts that hold
 * on any correct host, so the output is the same on every run. */
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

static uint64_t ns(clockid_t clock) {
    struct timespec ts;
    if (clock_gettime(clock, &ts) != 0) return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *yes(int cond) { return cond ? "yes" : "no"; }

int main(void) {
    /* 2020-01-01T00:00:00Z < now < 2200-01-01 */
    uint64_t real = ns(CLOCK_REALTIME);
    printf("realtime is after 2020: %s\n", yes(real / 1000000000u > 1577836800u));
    printf("realtime is before 2200: %s\n", yes(real / 1000000000u < 7258118400u));

    struct timespec res;
    printf("realtime resolution > 0: %s\n",
           yes(clock_getres(CLOCK_REALTIME, &res) == 0 && (res.tv_sec || res.tv_nsec)));
    printf("monotonic resolution > 0: %s\n",
           yes(clock_getres(CLOCK_MONOTONIC, &res) == 0 && (res.tv_sec || res.tv_nsec)));

    uint64_t t0 = ns(CLOCK_MONOTONIC);
    volatile uint64_t sink = 0;
    for (uint64_t i = 0; i < 1000000; i++) sink += i * i;
    uint64_t t1 = ns(CLOCK_MONOTONIC);
    printf("monotonic clock advanced: %s\n", yes(t1 > t0));

    struct timespec two_ms = {0, 2000000};
    uint64_t before = ns(CLOCK_MONOTONIC);
    int slept = nanosleep(&two_ms, NULL);
    uint64_t after = ns(CLOCK_MONOTONIC);
    printf("nanosleep 2 ms returned 0: %s\n", yes(slept == 0));
    printf("slept at least 2 ms: %s\n", yes(after - before >= 2000000));

    /* Two clock subscriptions at once: the earlier fires, the later does not. */
    __wasi_subscription_t subs[2];
    memset(subs, 0, sizeof subs);
    subs[0].userdata = 11;
    subs[0].u.tag = __WASI_EVENTTYPE_CLOCK;
    subs[0].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    subs[0].u.u.clock.timeout = 1000000; /* 1 ms, relative */
    subs[1].userdata = 22;
    subs[1].u.tag = __WASI_EVENTTYPE_CLOCK;
    subs[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    subs[1].u.u.clock.timeout = 60ull * 1000000000u; /* a minute */
    __wasi_event_t events[2];
    __wasi_size_t nevents = 0;
    __wasi_errno_t e = __wasi_poll_oneoff(subs, events, 2, &nevents);
    printf("poll_oneoff: errno %d, %u event(s), first userdata %llu, type clock: %s\n", e,
           (unsigned)nevents, nevents ? (unsigned long long)events[0].userdata : 0ull,
           yes(nevents && events[0].type == __WASI_EVENTTYPE_CLOCK));
    printf("poll_oneoff with no subscriptions: errno %d\n",
           __wasi_poll_oneoff(subs, events, 0, &nevents));

    printf("sched_yield: %d\n", sched_yield());

    unsigned char a[32], b[32], zero[32] = {0};
    int ra = getentropy(a, sizeof a), rb = getentropy(b, sizeof b);
    printf("random bytes: %zu %s\n", sizeof a, ra == 0 && rb == 0 ? "ok" : "failed");
    printf("two draws differ: %s\n", yes(memcmp(a, b, sizeof a) != 0));
    printf("not all zero: %s\n", yes(memcmp(a, zero, sizeof a) != 0));
    (void)sink;
    return 0;
}
