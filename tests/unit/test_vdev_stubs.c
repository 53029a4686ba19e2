/* Stand-ins for the kernel services the virtual devices use (heap, wait queues, log) in host tests. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test_vdev_stubs.h"
#include "mm/kmalloc.h"
#include "kernel/log.h"
#include "kernel/thread.h"

int vdev_stub_live_allocs;
int vdev_stub_wakeups;
char vdev_stub_last_log[512];

void *kmalloc(size_t size)
{
	void *p = size ? malloc(size) : NULL;

	if (p)
		vdev_stub_live_allocs++;
	return p;
}

void *kzalloc(size_t size)
{
	void *p = kmalloc(size);

	if (p)
		memset(p, 0, size);
	return p;
}

void kfree(void *p)
{
	if (p)
		vdev_stub_live_allocs--;
	free(p);
}

void wait_queue_init(struct wait_queue *wq)
{
	spin_lock_init(&wq->lock);
	list_init(&wq->waiters);
}

/* Single-threaded tests: a wait whose condition is false would never end. */
void wait_event(struct wait_queue *wq, bool (*cond)(void *), void *arg)
{
	(void)wq;
	if (!cond(arg)) {
		fprintf(stderr, "wait_event: condition false in a single-threaded test\n");
		abort();
	}
}

void wake_up_all(struct wait_queue *wq)
{
	(void)wq;
	vdev_stub_wakeups++;
}

void printk(int level, const char *fmt, ...)
{
	va_list ap;

	(void)level;
	va_start(ap, fmt);
	vsnprintf(vdev_stub_last_log, sizeof(vdev_stub_last_log), fmt, ap);
	va_end(ap);
}
