#pragma once
// A CPU hint for busy-wait loops (x86 PAUSE / ARM YIELD): the spinning thread yields pipeline
// resources and power without a system call.
static inline void spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ __volatile__("yield");
#endif
}
