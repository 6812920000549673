/* ThreadX shim on POSIX threads: just what the NetX Duo samples use.
 * The kernel's bookkeeping (which threads exist, how many run) is process
 * wide, as ThreadX's own is; it is guarded by one mutex. */
#include "tx_api.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum { TH_CREATED = 1, TH_READY, TH_RUNNING, TH_FINISHED, TH_JOINED };

static pthread_mutex_t kmutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t kcond = PTHREAD_COND_INITIALIZER;
static TX_THREAD *kthreads;      /* every created thread */
static unsigned krunning;        /* started and not finished */
static int kstarted;             /* tx_kernel_enter has run the define */
static struct timespec kepoch;
static int kepoch_set;

/* The application's memory area (ThreadX hands out the RAM after its own). */
static union {
    unsigned char bytes[TX_HOST_MEMORY_SIZE];
    long double align_ld;
    void *align_p;
} kmemory;

static void epoch_init(void)
{
    if (!kepoch_set) {
        clock_gettime(CLOCK_MONOTONIC, &kepoch);
        kepoch_set = 1;
    }
}

static void *thread_main(void *arg)
{
    TX_THREAD *t = (TX_THREAD *)arg;
    t->tx_thread_entry(t->tx_thread_entry_parameter);
    pthread_mutex_lock(&kmutex);
    t->tx_thread_host_state = TH_FINISHED;
    krunning--;
    pthread_cond_broadcast(&kcond);
    pthread_mutex_unlock(&kmutex);
    return NULL;
}

/* kmutex held. */
static UINT start_locked(TX_THREAD *t)
{
    t->tx_thread_host_state = TH_RUNNING;
    krunning++;
    if (pthread_create(&t->tx_thread_host, NULL, thread_main, t) != 0) {
        t->tx_thread_host_state = TH_CREATED;
        krunning--;
        return TX_START_ERROR;
    }
    return TX_SUCCESS;
}

VOID tx_kernel_enter(VOID)
{
    TX_THREAD *t;

    pthread_mutex_lock(&kmutex);
    epoch_init();
    pthread_mutex_unlock(&kmutex);

    tx_application_define(kmemory.bytes);

    pthread_mutex_lock(&kmutex);
    kstarted = 1;
    for (t = kthreads; t != NULL; t = t->tx_thread_host_next) {
        if (t->tx_thread_host_state == TH_READY) {
            (void)start_locked(t);
        }
    }
    while (krunning > 0) {
        pthread_cond_wait(&kcond, &kmutex);
    }
    /* Reap the finished threads so their host resources are returned. */
    for (t = kthreads; t != NULL; t = t->tx_thread_host_next) {
        if (t->tx_thread_host_state == TH_FINISHED) {
            pthread_join(t->tx_thread_host, NULL);
            t->tx_thread_host_state = TH_JOINED;
        }
    }
    kstarted = 0;
    pthread_mutex_unlock(&kmutex);
}

UINT tx_thread_create(TX_THREAD *thread_ptr, CHAR *name_ptr, VOID (*entry_function)(ULONG),
                      ULONG entry_input, VOID *stack_start, ULONG stack_size, UINT priority,
                      UINT preempt_threshold, ULONG time_slice, UINT auto_start)
{
    UINT status = TX_SUCCESS;
    TX_THREAD *t;

    (void)stack_start;
    (void)preempt_threshold;
    (void)time_slice;
    if (thread_ptr == NULL || entry_function == NULL) {
        return TX_PTR_ERROR;
    }
    if (stack_size < 200) {
        return TX_SIZE_ERROR;
    }
    if (priority >= TX_MAX_PRIORITIES) {
        return TX_PRIORITY_ERROR;
    }
    if (auto_start != TX_AUTO_START && auto_start != TX_DONT_START) {
        return TX_START_ERROR;
    }
    pthread_mutex_lock(&kmutex);
    epoch_init();
    for (t = kthreads; t != NULL; t = t->tx_thread_host_next) {
        if (t == thread_ptr) {
            pthread_mutex_unlock(&kmutex);
            return TX_THREAD_ERROR;
        }
    }
    thread_ptr->tx_thread_id = TX_THREAD_ID;
    thread_ptr->tx_thread_name = name_ptr;
    thread_ptr->tx_thread_entry = entry_function;
    thread_ptr->tx_thread_entry_parameter = entry_input;
    thread_ptr->tx_thread_priority = priority;
    thread_ptr->tx_thread_host_state = TH_CREATED;
    thread_ptr->tx_thread_host_next = kthreads;
    kthreads = thread_ptr;
    if (auto_start == TX_AUTO_START) {
        if (kstarted) {
            status = start_locked(thread_ptr);
        } else {
            thread_ptr->tx_thread_host_state = TH_READY;
        }
    }
    pthread_mutex_unlock(&kmutex);
    return status;
}

static int known_locked(TX_THREAD *thread_ptr)
{
    TX_THREAD *t;
    for (t = kthreads; t != NULL; t = t->tx_thread_host_next) {
        if (t == thread_ptr) {
            return 1;
        }
    }
    return 0;
}

UINT tx_thread_resume(TX_THREAD *thread_ptr)
{
    UINT status = TX_SUCCESS;

    if (thread_ptr == NULL) {
        return TX_THREAD_ERROR;
    }
    pthread_mutex_lock(&kmutex);
    if (!known_locked(thread_ptr)) {
        status = TX_THREAD_ERROR;
    } else if (thread_ptr->tx_thread_host_state != TH_CREATED) {
        status = TX_RESUME_ERROR;
    } else if (kstarted) {
        status = start_locked(thread_ptr);
    } else {
        thread_ptr->tx_thread_host_state = TH_READY;
    }
    pthread_mutex_unlock(&kmutex);
    return status;
}

UINT tx_thread_sleep(ULONG timer_ticks)
{
    struct timespec ts;
    unsigned long long ns = (unsigned long long)timer_ticks * (1000000000ULL / TX_TIMER_TICKS_PER_SECOND);
    ts.tv_sec = (time_t)(ns / 1000000000ULL);
    ts.tv_nsec = (long)(ns % 1000000000ULL);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return TX_SUCCESS;
}

UINT tx_thread_delete(TX_THREAD *thread_ptr)
{
    TX_THREAD **pp;
    UINT state;

    if (thread_ptr == NULL) {
        return TX_THREAD_ERROR;
    }
    pthread_mutex_lock(&kmutex);
    if (!known_locked(thread_ptr)) {
        pthread_mutex_unlock(&kmutex);
        return TX_THREAD_ERROR;
    }
    state = thread_ptr->tx_thread_host_state;
    if (state == TH_RUNNING) {
        pthread_mutex_unlock(&kmutex);
        return TX_DELETE_ERROR;
    }
    for (pp = &kthreads; *pp != NULL; pp = &(*pp)->tx_thread_host_next) {
        if (*pp == thread_ptr) {
            *pp = thread_ptr->tx_thread_host_next;
            break;
        }
    }
    pthread_mutex_unlock(&kmutex);
    if (state == TH_FINISHED && !pthread_equal(thread_ptr->tx_thread_host, pthread_self())) {
        pthread_join(thread_ptr->tx_thread_host, NULL);
    } else if (state == TH_FINISHED) {
        pthread_detach(thread_ptr->tx_thread_host);
    }
    thread_ptr->tx_thread_id = 0;
    thread_ptr->tx_thread_host_state = 0;
    thread_ptr->tx_thread_host_next = NULL;
    return TX_SUCCESS;
}

ULONG tx_time_get(VOID)
{
    struct timespec now;
    unsigned long long ms;
    pthread_mutex_lock(&kmutex);
    epoch_init();
    pthread_mutex_unlock(&kmutex);
    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (unsigned long long)(now.tv_sec - kepoch.tv_sec) * 1000ULL +
         (unsigned long long)((now.tv_nsec - kepoch.tv_nsec) / 1000000L);
    return (ULONG)(ms / (1000ULL / TX_TIMER_TICKS_PER_SECOND));
}
