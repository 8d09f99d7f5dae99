/* Runs one model through the arenaplan C API on a fixed input and compares the output with the expected
 * bytes (TFLM's), bit for bit. Exits 0 (equal) or 1 through semihosting.
 *
 * model.h / model.c:  arenaplan export MODEL --format c-program --prefix model -o build/model.c
 * expected.h:         model_input[] and model_expected[] (written by run.sh from the zoo's golden files) */
#include <stddef.h>
#include <stdint.h>

#include "arenaplan.h"
#include "expected.h"
#include "model.h"
#include "semihosting.h"

/* The one block of RAM inference uses: activations and scratch buffers, at the plan's offsets. */
static uint8_t arena[MODEL_ARENA_BYTES] __attribute__((aligned(MODEL_ARENA_ALIGNMENT)));

typedef char input_size_matches[(sizeof model_input == MODEL_INPUT0_BYTES) ? 1 : -1];
typedef char output_size_matches[(sizeof model_expected == MODEL_OUTPUT0_BYTES) ? 1 : -1];

static int fail(const char *what, int status) {
    semihosting_print(what);
    semihosting_print(": ");
    semihosting_print(arenaplan_status_name(status));
    semihosting_print("\n");
    return 1;
}

int main(void) {
    int status;
    size_t i, differing = 0;
    const arenaplan_tensor *in = &model_inputs[0];
    const arenaplan_tensor *out = &model_outputs[0];

    status = arenaplan_check_model(model_program, MODEL_PROGRAM_BYTES, model_model, MODEL_MODEL_BYTES);
    if (status != ARENAPLAN_OK) {
        return fail("arenaplan_check_model", status);
    }
    for (i = 0; i < in->bytes; i++) {
        arena[in->offset + i] = model_input[i];
    }
    status = arenaplan_run(model_program, MODEL_PROGRAM_BYTES, model_model, MODEL_MODEL_BYTES, arena, sizeof arena);
    if (status != ARENAPLAN_OK) {
        return fail("arenaplan_run", status);
    }
    for (i = 0; i < out->bytes; i++) {
        differing += arena[out->offset + i] != model_expected[i];
    }
    semihosting_print("arena ");
    semihosting_print_uint(MODEL_ARENA_BYTES);
    semihosting_print(" B, program ");
    semihosting_print_uint(MODEL_PROGRAM_BYTES);
    semihosting_print(" B, model ");
    semihosting_print_uint(MODEL_MODEL_BYTES);
    semihosting_print(" B, ");
    semihosting_print_uint(MODEL_STEP_COUNT);
    semihosting_print(" steps\n");
    if (differing != 0) {
        semihosting_print("MISMATCH: ");
        semihosting_print_uint(differing);
        semihosting_print(" of the output bytes differ from the expected ones\n");
        return 1;
    }
    semihosting_print("bit-exact: all ");
    semihosting_print_uint(out->bytes);
    semihosting_print(" output bytes equal the expected ones\n");
    return 0;
}
