// C helpers for VAEGuard: things Swift cannot do safely or at all.
#ifndef VAEGUARD_CSUPPORT_H
#define VAEGUARD_CSUPPORT_H
#include "vg_cpu.h"
#include "vg_stdio.h"
#include "vg_codecs.h"
#include "vg_half.h"
#endif
