/*===- abi.h - The contract between generated code and liblmrt -----------===*
 *
 * A compiled experiment (lmc build) exports exactly these symbols; liblmrt
 * owns main(), reads the descriptor and calls the entries. Entry arguments
 * are pointers to dense row-major buffers: inputs first, then outputs, in the
 * order the descriptor documents for each entry kind.
 *
 *===----------------------------------------------------------------------===*/
#ifndef LM_ABI_H
#define LM_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*lm_entry_fn)(void **args);

/* The experiment descriptor: JSON text (flags, parameter layout, data,
 * training, observations, entry names), NUL-terminated. */
extern const char lm_descriptor[];
/* Entry points, in the order of the descriptor's "entries" array. */
extern const lm_entry_fn lm_entries[];
extern const int64_t lm_num_entries;

#ifdef __cplusplus
}
#endif

#endif
