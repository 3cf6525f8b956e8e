/* The daemon's test clock: an offset added to the wall clock, settable only
 * when the daemon was started with APPROVALD_TEST_CLOCK=1 (integration
 * scenarios advance hours without sleeping). */
#include <stdint.h>

#include "approvald.h"

int64_t testclock_offset;
