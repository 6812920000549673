/*
 * tx_api.h - host shim of the few ThreadX services the NetX Duo sample
 * programs use, on POSIX threads (part of postie_netx).
 *
 * Model: tx_kernel_enter() calls the application's tx_application_define()
 * with a memory area (TX_HOST_MEMORY_SIZE bytes, for stacks, pools and so on,
 * as the samples carve it), then runs every thread created with TX_AUTO_START
 * (or resumed) on its own POSIX thread, and returns once all of them have
 * finished. Unlike ThreadX, threads run truly in parallel: priorities,
 * preemption thresholds and time slices are accepted and ignored, and the
 * stack given to tx_thread_create is not used (the host thread has its own).
 * A tick is 1/TX_TIMER_TICKS_PER_SECOND s (10 ms).
 */
#ifndef POSTIE_NETX_TX_API_H
#define POSTIE_NETX_TX_API_H

#include <pthread.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef VOID
#define VOID void
#endif
typedef char           CHAR;
typedef unsigned char  UCHAR;
typedef int            INT;
typedef unsigned int   UINT;
typedef long           LONG;
typedef unsigned long  ULONG;
typedef short          SHORT;
typedef unsigned short USHORT;

#define TX_SUCCESS          0x00u
#define TX_PTR_ERROR        0x03u
#define TX_SIZE_ERROR       0x05u
#define TX_WAIT_ERROR       0x04u
#define TX_THREAD_ERROR     0x0Eu
#define TX_PRIORITY_ERROR   0x0Fu
#define TX_START_ERROR      0x10u
#define TX_DELETE_ERROR     0x11u
#define TX_RESUME_ERROR     0x12u
#define TX_CALLER_ERROR     0x13u

#define TX_NO_WAIT          ((ULONG)0)
#define TX_WAIT_FOREVER     ((ULONG)0xFFFFFFFFUL)
#define TX_AUTO_START       ((UINT)1)
#define TX_DONT_START       ((UINT)0)
#define TX_NO_TIME_SLICE    ((ULONG)0)
#define TX_MAX_PRIORITIES   32

#ifndef TX_TIMER_TICKS_PER_SECOND
#define TX_TIMER_TICKS_PER_SECOND 100UL
#endif

/* Size of the area handed to tx_application_define(). */
#ifndef TX_HOST_MEMORY_SIZE
#define TX_HOST_MEMORY_SIZE (8UL * 1024UL * 1024UL)
#endif

typedef struct TX_THREAD_STRUCT {
    ULONG tx_thread_id;                       /* TX_THREAD_ID while created */
    CHAR *tx_thread_name;
    VOID (*tx_thread_entry)(ULONG);
    ULONG tx_thread_entry_parameter;
    UINT tx_thread_priority;
    /* host side (internal) */
    pthread_t tx_thread_host;
    UINT tx_thread_host_state;                /* created/ready/running/finished */
    struct TX_THREAD_STRUCT *tx_thread_host_next;
} TX_THREAD;

#define TX_THREAD_ID ((ULONG)0x54485244UL)

/* Calls tx_application_define(), runs the threads it made ready, and returns
 * when every started thread has returned from its entry function. */
VOID tx_kernel_enter(VOID);

/* Provided by the application. */
VOID tx_application_define(VOID *first_unused_memory);

/* Creates a thread. Returns TX_SUCCESS, TX_PTR_ERROR (thread_ptr or entry
 * NULL), TX_THREAD_ERROR (already created), TX_SIZE_ERROR (stack_size < 200),
 * TX_PRIORITY_ERROR (priority >= TX_MAX_PRIORITIES), TX_START_ERROR (invalid
 * auto_start, or the host could not start a thread). */
UINT tx_thread_create(TX_THREAD *thread_ptr, CHAR *name_ptr, VOID (*entry_function)(ULONG),
                      ULONG entry_input, VOID *stack_start, ULONG stack_size, UINT priority,
                      UINT preempt_threshold, ULONG time_slice, UINT auto_start);

/* Starts a thread created with TX_DONT_START. TX_SUCCESS, TX_THREAD_ERROR
 * (not created), TX_RESUME_ERROR (already started). */
UINT tx_thread_resume(TX_THREAD *thread_ptr);

/* Sleeps for the given number of ticks. TX_SUCCESS. */
UINT tx_thread_sleep(ULONG timer_ticks);

/* Deletes a thread that has finished (or never started). TX_SUCCESS,
 * TX_THREAD_ERROR (not created), TX_DELETE_ERROR (still running). */
UINT tx_thread_delete(TX_THREAD *thread_ptr);

/* Ticks since the first call into this shim. */
ULONG tx_time_get(VOID);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_NETX_TX_API_H */
