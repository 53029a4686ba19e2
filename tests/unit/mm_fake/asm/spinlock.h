/* Host-test stand-in for asm/spinlock.h: same interface, no interrupt flag (user mode). */
#ifndef HV_ASM_SPINLOCK_H
#define HV_ASM_SPINLOCK_H

#include "lib/types.h"

struct spinlock {
	int locked;
};

#define SPINLOCK_INIT { 0 }

static inline void spin_lock_init(struct spinlock *l) { l->locked = 0; }

static inline void spin_lock(struct spinlock *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		;
}

static inline void spin_unlock(struct spinlock *l) { __atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE); }

static inline bool spin_is_locked(struct spinlock *l) { return __atomic_load_n(&l->locked, __ATOMIC_RELAXED); }

static inline u64 spin_lock_irqsave(struct spinlock *l)
{
	spin_lock(l);
	return 0;
}

static inline void spin_unlock_irqrestore(struct spinlock *l, u64 flags)
{
	(void)flags;
	spin_unlock(l);
}

#endif
