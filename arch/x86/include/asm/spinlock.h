/* Ticket spinlocks; the _irqsave forms also disable local interrupts. */
#ifndef HV_ASM_SPINLOCK_H
#define HV_ASM_SPINLOCK_H

#include "lib/types.h"
#include "asm/cpu.h"

struct spinlock {
	u16 next;  /* ticket handed to the next arrival */
	u16 owner; /* ticket now being served */
};

#define SPINLOCK_INIT { 0, 0 }

static inline void spin_lock_init(struct spinlock *l) { l->next = l->owner = 0; }

static inline void spin_lock(struct spinlock *l)
{
	u16 me = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);

	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != me)
		cpu_relax();
}

static inline bool spin_trylock(struct spinlock *l)
{
	u16 owner = __atomic_load_n(&l->owner, __ATOMIC_RELAXED);
	u16 expect = owner;

	return __atomic_compare_exchange_n(&l->next, &expect, (u16)(owner + 1), false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->owner, (u16)(l->owner + 1), __ATOMIC_RELEASE);
}

static inline bool spin_is_locked(struct spinlock *l)
{
	return __atomic_load_n(&l->owner, __ATOMIC_RELAXED) !=
	       __atomic_load_n(&l->next, __ATOMIC_RELAXED);
}

static inline u64 spin_lock_irqsave(struct spinlock *l)
{
	u64 flags = irq_save();

	spin_lock(l);
	return flags;
}

static inline void spin_unlock_irqrestore(struct spinlock *l, u64 flags)
{
	spin_unlock(l);
	irq_restore(flags);
}

#endif
