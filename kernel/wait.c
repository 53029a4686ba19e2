/* Wait queues and sleeping mutexes on top of thread_block()/thread_wake(). */
#include "kernel/thread.h"
#include "asm/percpu.h"

void wait_queue_init(struct wait_queue *wq)
{
	spin_lock_init(&wq->lock);
	list_init(&wq->waiters);
}

void wait_event(struct wait_queue *wq, bool (*cond)(void *), void *arg)
{
	struct thread *self = current_thread();

	for (;;) {
		u64 f = spin_lock_irqsave(&wq->lock);

		if (cond(arg)) {
			if (list_is_linked(&self->wait_node))
				list_del(&self->wait_node);
			spin_unlock_irqrestore(&wq->lock, f);
			return;
		}
		if (!list_is_linked(&self->wait_node))
			list_add_tail(&wq->waiters, &self->wait_node);
		spin_unlock_irqrestore(&wq->lock, f);
		thread_block();
	}
}

static void wake_some(struct wait_queue *wq, bool all)
{
	u64 f = spin_lock_irqsave(&wq->lock);

	while (!list_empty(&wq->waiters)) {
		struct thread *t = list_first_entry(&wq->waiters, struct thread, wait_node);

		list_del(&t->wait_node);
		thread_wake(t);
		if (!all)
			break;
	}
	spin_unlock_irqrestore(&wq->lock, f);
}

void wake_up_all(struct wait_queue *wq) { wake_some(wq, true); }
void wake_up_one(struct wait_queue *wq) { wake_some(wq, false); }

void mutex_init(struct mutex *m)
{
	spin_lock_init(&m->lock);
	m->owner = NULL;
	list_init(&m->waiters);
}

void mutex_lock(struct mutex *m)
{
	struct thread *self = current_thread();

	for (;;) {
		u64 f = spin_lock_irqsave(&m->lock);

		if (!m->owner) {
			m->owner = self;
			if (list_is_linked(&self->wait_node))
				list_del(&self->wait_node);
			spin_unlock_irqrestore(&m->lock, f);
			return;
		}
		if (!list_is_linked(&self->wait_node))
			list_add_tail(&m->waiters, &self->wait_node);
		spin_unlock_irqrestore(&m->lock, f);
		thread_block();
	}
}

void mutex_unlock(struct mutex *m)
{
	u64 f = spin_lock_irqsave(&m->lock);

	m->owner = NULL;
	if (!list_empty(&m->waiters)) {
		struct thread *t = list_first_entry(&m->waiters, struct thread, wait_node);

		list_del(&t->wait_node);
		thread_wake(t);
	}
	spin_unlock_irqrestore(&m->lock, f);
}
