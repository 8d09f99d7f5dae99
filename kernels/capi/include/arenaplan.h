/* arenaplan C API: runs an arenaplan program blob in one caller-provided arena.
 *
 * Link with libarenaplan_capi.a, built by
 *   cargo build -p arenaplan-capi --release --target thumbv7em-none-eabihf   (Cortex-M4F/M7, no_std)
 *   cargo build -p arenaplan-capi --release                                   (the host; also link -lpthread -ldl -lm)
 * `arenaplan export MODEL --format c-program -o NAME.c` writes the program blob, the model bytes, the arena
 * size and the input/output descriptors (arenaplan_tensor) as C: NAME.c and NAME.h.
 *
 * Use:
 *   static uint8_t arena[NAME_ARENA_BYTES] __attribute__((aligned(16)));
 *   uint32_t offset, len;
 *   arenaplan_input(name_program, NAME_PROGRAM_BYTES, 0, &offset, &len);    write the int8 input at arena + offset
 *   int status = arenaplan_run(name_program, NAME_PROGRAM_BYTES, name_model, NAME_MODEL_BYTES,
 *                              arena, sizeof arena);
 *   arenaplan_output(name_program, NAME_PROGRAM_BYTES, 0, &offset, &len);   the int8 output is at arena + offset
 *
 * Every function checks its pointers and the blob and returns ARENAPLAN_OK (0) or a negative status; none
 * allocates. The library keeps no state: calls may run from any context, one arena per concurrent run. */
#ifndef ARENAPLAN_H
#define ARENAPLAN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. */
#define ARENAPLAN_OK 0
#define ARENAPLAN_ERR_NULL (-1)            /* a required pointer is null */
#define ARENAPLAN_ERR_BAD_PROGRAM (-2)     /* not a program blob, or corrupted (lengths, checksum, records) */
#define ARENAPLAN_ERR_VERSION (-3)         /* a program blob format version this library does not read */
#define ARENAPLAN_ERR_WRONG_MODEL (-4)     /* model bytes differ (length, or checksum in arenaplan_check_model) */
#define ARENAPLAN_ERR_ARENA_TOO_SMALL (-5) /* the arena is smaller than the program needs */
#define ARENAPLAN_ERR_OUT_OF_RANGE (-6)    /* a step refers to bytes outside the model, constants or arena */
#define ARENAPLAN_ERR_KERNEL (-7)          /* a kernel refused its operands */
#define ARENAPLAN_ERR_INDEX (-8)           /* no input or output of that index */

/* Element types of model inputs and outputs (arenaplan_tensor.element); the kernels read and write int8. */
#define ARENAPLAN_INT8 0u
#define ARENAPLAN_UINT8 1u
#define ARENAPLAN_INT16 2u
#define ARENAPLAN_INT32 3u
#define ARENAPLAN_INT64 4u
#define ARENAPLAN_FLOAT16 5u
#define ARENAPLAN_FLOAT32 6u
#define ARENAPLAN_BOOL 7u

/* Most dimensions an arenaplan_tensor records. */
#define ARENAPLAN_MAX_RANK 8u

/* A model input or output, as `arenaplan export --format c-program` describes it:
 * real value = scale * (quantised value - zero_point). */
typedef struct arenaplan_tensor {
    uint32_t offset;                   /* its first byte, from the arena's start */
    uint32_t bytes;                    /* its length in bytes */
    uint32_t element;                  /* ARENAPLAN_INT8, ... */
    uint32_t rank;                     /* number of dimensions */
    uint32_t dims[ARENAPLAN_MAX_RANK]; /* outermost first; entries past rank are 0 */
    float scale;                       /* quantisation scale */
    int32_t zero_point;                /* quantisation zero point */
} arenaplan_tensor;

/* Facts about a program blob. */
typedef struct arenaplan_info {
    uint32_t arena_bytes;  /* bytes of arena the program needs */
    uint32_t model_bytes;  /* bytes of the .tflite file it reads weights from */
    uint32_t step_count;   /* kernel invocations */
    uint32_t input_count;  /* model inputs */
    uint32_t output_count; /* model outputs */
} arenaplan_info;

/* Fill *info from the program blob. */
int arenaplan_program_info(const uint8_t *program, size_t program_len, arenaplan_info *info);

/* Where model input `index` goes in the arena: *offset bytes from its start, *len bytes (int8). */
int arenaplan_input(const uint8_t *program, size_t program_len, uint32_t index, uint32_t *offset, uint32_t *len);

/* Where model output `index` is in the arena after arenaplan_run. */
int arenaplan_output(const uint8_t *program, size_t program_len, uint32_t index, uint32_t *offset, uint32_t *len);

/* Check that `model` is the file the program was compiled for (length and checksum: one pass over it). */
int arenaplan_check_model(const uint8_t *program, size_t program_len, const uint8_t *model, size_t model_len);

/* Run the program over `model` in `arena` (inputs already written at their places). The blob, the model's
 * length, the arena's length and every step's ranges are checked before the first step runs. */
int arenaplan_run(const uint8_t *program, size_t program_len, const uint8_t *model, size_t model_len,
                  uint8_t *arena, size_t arena_len);

/* The int8 value of `real` in the tensor's quantisation, as TFLM's QUANTIZE computes it:
 * round(real / scale) + zero_point, rounding half away from zero, clamped to [-128, 127]. */
int8_t arenaplan_quantize(const arenaplan_tensor *tensor, float real);

/* The real value of the int8 `q` in the tensor's quantisation: scale * (q - zero_point). */
float arenaplan_dequantize(const arenaplan_tensor *tensor, int8_t q);

/* A short English name of a status code (a static NUL-terminated string). */
const char *arenaplan_status_name(int status);

#ifdef __cplusplus
}
#endif

#endif /* ARENAPLAN_H */
