/*
 * insn_mix: a QEMU TCG plugin that counts the executed instructions of an Arm (Thumb) guest, by instruction
 * class, in segments cut at marker functions.
 *
 * At translation time every instruction of a block is classified from its disassembly; the block gets an
 * execution callback that adds the block's class counts to the current segment. When a block starting at a
 * marker address executes, a new segment starts (tagged with the marker). Whether the branch that ends a block
 * was taken is read at run time: the next block to execute either starts at the branch's fall-through address
 * (not taken) or elsewhere (taken). At exit a TSV file is written: one row per segment, one column per class.
 *
 * Arguments (QEMU 7.2: `-plugin insn_mix.so,out=FILE,step=ADDR,end=ADDR -d plugin`):
 *   out=FILE   where to write the counts (required)
 *   step=ADDR  address of the per-step marker (hex, the Thumb bit is ignored); segments it starts are "step"
 *   end=ADDR   address of the end marker; the segment it starts is "end"
 * The first segment (before any marker) is "start".
 *
 * Only the few declarations of QEMU's plugin API (version 1) this file uses are written out below.
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

/* ---- the plugin API declarations this plugin needs (QEMU plugin API, version 1) ---- */
typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t; /* only ever used through a pointer */
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
                                          enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
char *qemu_plugin_insn_disas(const struct qemu_plugin_insn *insn);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* ---- instruction classes ---- */
enum cls {
    C_ALU, C_IT, C_MUL, C_MUL_LONG, C_DIV, C_DSP_SIMD, C_LOAD, C_LOAD_PIPELINED, C_LOAD_DUAL, C_STORE,
    C_STORE_DUAL, C_LDM, C_STM, C_PUSH, C_POP, C_POP_PC, C_BRANCH, C_LOOP, C_FP, C_MVE, C_OTHER, N_CLASSES
};
static const char *const CLASS_NAMES[N_CLASSES] = {
    "alu", "it", "mul", "mul_long", "div", "dsp_simd", "load", "load_pipelined", "load_dual", "store",
    "store_dual", "ldm", "stm", "push", "pop", "pop_pc", "branch", "loop", "fp", "mve", "other",
};
/* Extra columns: registers moved by the multiple-register classes, branch outcomes. */
enum extra { X_REGS_LDM, X_REGS_STM, X_REGS_PUSH, X_REGS_POP, X_BRANCH_TAKEN, X_BRANCH_NOT_TAKEN, N_EXTRA };
static const char *const EXTRA_NAMES[N_EXTRA] = {
    "ldm_regs", "stm_regs", "push_regs", "pop_regs", "branch_taken", "branch_not_taken",
};

struct counts {
    uint64_t insns;
    uint64_t cls[N_CLASSES];
    uint64_t extra[N_EXTRA];
};

/* What one translated block adds each time it executes. */
struct block {
    uint64_t vaddr;
    uint64_t fallthrough;  /* address after the block's last instruction */
    bool ends_in_branch;   /* last instruction is of class branch */
    int marker;            /* 0: none, 1: step marker, 2: end marker */
    struct counts add;
};

struct segment {
    int marker; /* 0 start, 1 step, 2 end */
    struct counts c;
};

static char *out_path;
static uint64_t step_addr = UINT64_MAX, end_addr = UINT64_MAX;
static struct segment *segments;
static size_t n_segments, cap_segments;
static const struct block *previous;

static void new_segment(int marker)
{
    if (n_segments == cap_segments) {
        cap_segments = cap_segments ? 2 * cap_segments : 64;
        segments = realloc(segments, cap_segments * sizeof *segments);
        if (!segments) {
            abort();
        }
    }
    memset(&segments[n_segments], 0, sizeof segments[n_segments]);
    segments[n_segments].marker = marker;
    n_segments++;
}

static bool in_list(const char *m, const char *const *list)
{
    for (; *list; list++) {
        if (strcmp(m, *list) == 0) {
            return true;
        }
    }
    return false;
}

static const char *const ALU[] = {
    "add", "adc", "sub", "sbc", "rsb", "mov", "movw", "movt", "mvn", "cmp", "cmn", "tst", "teq", "and", "orr",
    "orn", "eor", "bic", "lsl", "lsr", "asr", "ror", "rrx", "sxtb", "sxth", "uxtb", "uxth", "sxtab", "sxtah",
    "uxtab", "uxtah", "ubfx", "sbfx", "bfi", "bfc", "clz", "rev", "rev16", "revsh", "rbit", "adr", "addw",
    "subw", "neg", "cpy", NULL};
static const char *const MUL[] = {
    "mul", "mla", "mls", "smulbb", "smulbt", "smultb", "smultt", "smulwb", "smulwt", "smlabb", "smlabt",
    "smlatb", "smlatt", "smlawb", "smlawt", "smlad", "smladx", "smlsd", "smlsdx", "smuad", "smuadx", "smusd",
    "smusdx", "smmul", "smmulr", "smmla", "smmlar", "smmls", "smmlsr", "usad8", "usada8", NULL};
static const char *const MUL_LONG[] = {
    "smull", "umull", "smlal", "umlal", "umaal", "smlalbb", "smlalbt", "smlaltb", "smlaltt", "smlald",
    "smlaldx", "smlsld", "smlsldx", NULL};
static const char *const DIV[] = {"sdiv", "udiv", NULL};
static const char *const DSP_SIMD[] = {
    "sxtb16", "uxtb16", "sxtab16", "uxtab16", "sadd16", "ssub16", "sadd8", "ssub8", "uadd16", "usub16",
    "uadd8", "usub8", "qadd16", "qsub16", "qadd8", "qsub8", "uqadd16", "uqsub16", "uqadd8", "uqsub8",
    "shadd16", "shsub16", "shadd8", "shsub8", "uhadd16", "uhsub16", "uhadd8", "uhsub8", "sasx", "ssax",
    "uasx", "usax", "qasx", "qsax", "shasx", "shsax", "uqasx", "uqsax", "uhasx", "uhsax", "ssat", "usat",
    "ssat16", "usat16", "qadd", "qsub", "qdadd", "qdsub", "pkhbt", "pkhtb", "sel", NULL};
static const char *const LOAD[] = {
    "ldr", "ldrb", "ldrh", "ldrsb", "ldrsh", "ldrex", "ldrexb", "ldrexh", "ldrt", "ldrbt", "ldrht", "ldrsbt",
    "ldrsht", "lda", "ldab", "ldah", "ldaex", "ldaexb", "ldaexh", NULL};
static const char *const STORE[] = {
    "str", "strb", "strh", "strex", "strexb", "strexh", "strt", "strbt", "strht", "stl", "stlb", "stlh",
    "stlex", "stlexb", "stlexh", NULL};
static const char *const LDM[] = {"ldm", "ldmia", "ldmfd", "ldmdb", "ldmea", NULL};
static const char *const STM[] = {"stm", "stmia", "stmea", "stmdb", "stmfd", NULL};
static const char *const BRANCH[] = {"b", "bl", "bx", "blx", "cbz", "cbnz", "tbb", "tbh", "bxns", "blxns", NULL};
static const char *const OTHER[] = {
    "nop", "bkpt", "svc", "cpsie", "cpsid", "mrs", "msr", "dmb", "dsb", "isb", "wfi", "wfe", "sev", "yield",
    "udf", "sg", "tt", "ttt", "tta", "ttat", "pld", "pli", "clrex", "csdb", NULL};
static const char *const CONDITIONS[] = {
    "eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al", NULL};

/* The class of a bare mnemonic, or -1. */
static int class_of_mnemonic(const char *m)
{
    if (in_list(m, MUL)) return C_MUL;
    if (in_list(m, MUL_LONG)) return C_MUL_LONG;
    if (in_list(m, DIV)) return C_DIV;
    if (in_list(m, DSP_SIMD)) return C_DSP_SIMD;
    if (in_list(m, LOAD)) return C_LOAD;
    if (!strcmp(m, "ldrd") || !strcmp(m, "ldaexd") || !strcmp(m, "ldrexd")) return C_LOAD_DUAL;
    if (in_list(m, STORE)) return C_STORE;
    if (!strcmp(m, "strd") || !strcmp(m, "stlexd") || !strcmp(m, "strexd")) return C_STORE_DUAL;
    if (in_list(m, LDM)) return C_LDM;
    if (in_list(m, STM)) return C_STM;
    if (!strcmp(m, "push")) return C_PUSH;
    if (!strcmp(m, "pop")) return C_POP;
    if (in_list(m, BRANCH)) return C_BRANCH;
    if (in_list(m, ALU)) return C_ALU;
    if (!strncmp(m, "it", 2) && strspn(m + 2, "te") == strlen(m + 2)) return C_IT;
    if (m[0] == 'v') return C_FP; /* VFP (and, on the M55, MVE) */
    if (in_list(m, OTHER)) return C_OTHER;
    return -1;
}

/* Classify a mnemonic, trying it bare, without a condition suffix, without an `s` (flag-setting) suffix. */
static int classify_mnemonic(const char *m)
{
    int c = class_of_mnemonic(m);
    if (c >= 0) return c;
    size_t n = strlen(m);
    char buf[32];
    if (n >= sizeof buf) return C_OTHER;
    for (int pass = 0; pass < 2; pass++) {
        /* pass 0: strip the condition first; pass 1: strip `s` first */
        strcpy(buf, m);
        size_t k = n;
        for (int step = 0; step < 2; step++) {
            bool strip_cond = (step == 0) == (pass == 0);
            if (strip_cond) {
                if (k > 2 && in_list(buf + k - 2, CONDITIONS)) {
                    k -= 2;
                    buf[k] = 0;
                }
            } else if (k > 1 && buf[k - 1] == 's') {
                k -= 1;
                buf[k] = 0;
            }
            c = class_of_mnemonic(buf);
            if (c >= 0) return c;
        }
    }
    return C_OTHER;
}

/* Registers in a `{...}` list, ranges counted in full; whether the list holds pc. */
static int register_list(const char *operands, bool *has_pc)
{
    const char *open = strchr(operands, '{');
    const char *close = open ? strchr(open, '}') : NULL;
    *has_pc = false;
    if (!open || !close) return 0;
    int count = 0;
    const char *p = open + 1;
    while (p < close) {
        while (p < close && (*p == ' ' || *p == ',')) p++;
        if (p >= close) break;
        const char *start = p;
        while (p < close && *p != ',') p++;
        char item[32];
        size_t len = (size_t)(p - start);
        if (len >= sizeof item) len = sizeof item - 1;
        memcpy(item, start, len);
        item[len] = 0;
        while (len && item[len - 1] == ' ') item[--len] = 0;
        if (!strcmp(item, "pc")) *has_pc = true;
        char *dash = strchr(item, '-');
        int a, b;
        if (dash && sscanf(item, "r%d-r%d", &a, &b) == 2 && b >= a) {
            count += b - a + 1;
        } else {
            count += 1;
        }
    }
    return count;
}

static const char *const COPROCESSOR[] = {
    "ldc", "ldcl", "ldc2", "ldc2l", "stc", "stcl", "stc2", "stc2l", "cdp", "cdp2", "mcr", "mcr2", "mrc", "mrc2",
    "mcrr", "mcrr2", "mrrc", "mrrc2", NULL};

/* Armv8.1-M low-overhead-loop instructions (WLS, DLS, LE and their tail-predicated forms), which QEMU 7.2's
 * disassembler does not know: first halfword 0xF000-0xF03F or 0xF04x, second halfword 11x0 xxxx xxxx xxx1 (bit 0
 * set: not BLX; bit 12 clear: not BL). */
static bool is_low_overhead_loop(const uint8_t *bytes, size_t size)
{
    if (size != 4) return false;
    unsigned hw1 = bytes[0] | (unsigned)bytes[1] << 8, hw2 = bytes[2] | (unsigned)bytes[3] << 8;
    return ((hw1 & 0xFFC0) == 0xF000 || (hw1 & 0xFFF0) == 0xF040) && (hw2 & 0xD001) == 0xC001;
}

/* Whether operands name a 128-bit q register (q0-q7). */
static bool names_q_register(const char *ops)
{
    for (const char *p = ops; (p = strchr(p, 'q')) != NULL; p++) {
        bool starts = p == ops || p[-1] == ' ' || p[-1] == ',' || p[-1] == '{' || p[-1] == '[';
        if (starts && isdigit((unsigned char)p[1])) return true;
    }
    return false;
}

/* Classify one disassembled instruction; adds registers of multiple transfers to `regs`. */
static int classify(const char *disas, int *regs)
{
    char m[32];
    size_t i = 0;
    const char *p = disas;
    while (*p == ' ' || *p == '\t') p++;
    while (*p && !isspace((unsigned char)*p) && i + 1 < sizeof m) {
        m[i++] = (char)tolower((unsigned char)*p);
        p++;
    }
    m[i] = 0;
    char *dot = strchr(m + 1, '.'); /* .w/.n width qualifiers, .f32/.i8 data types (not `.byte`) */
    if (dot) *dot = 0;
    char ops[160];
    size_t j = 0;
    for (; *p && j + 1 < sizeof ops; p++) ops[j++] = (char)tolower((unsigned char)*p);
    ops[j] = 0;
    *regs = 0;
    int c = classify_mnemonic(m);
    bool has_pc = false;
    /* Helium (MVE) on the Cortex-M55: QEMU 7.2's disassembler shows its encodings as coprocessor instructions
     * or as raw bytes, and the few it names as VFP/Neon ones use q registers. */
    if (in_list(m, COPROCESSOR) || !strcmp(m, ".byte") || (c == C_FP && names_q_register(ops))) {
        c = C_MVE;
    }
    switch (c) {
    case C_LDM:
    case C_STM:
    case C_PUSH:
        *regs = register_list(ops, &has_pc);
        break;
    case C_POP:
        *regs = register_list(ops, &has_pc);
        if (has_pc) c = C_POP_PC;
        break;
    case C_LOAD:
        /* a load into pc is a branch through memory */
        if (!strncmp(ops + strspn(ops, " \t"), "pc,", 3)) c = C_POP_PC, *regs = 1;
        break;
    case C_ALU:
        /* mov pc, rX / add pc, ...: a branch */
        if (!strncmp(ops + strspn(ops, " \t"), "pc,", 3)) c = C_BRANCH;
        break;
    default:
        break;
    }
    return c;
}

static void on_exec(unsigned int vcpu, void *userdata)
{
    (void)vcpu;
    const struct block *b = userdata;
    if (previous && previous->ends_in_branch) {
        struct counts *c = &segments[n_segments - 1].c;
        c->extra[b->vaddr == previous->fallthrough ? X_BRANCH_NOT_TAKEN : X_BRANCH_TAKEN]++;
    }
    if (b->marker) {
        new_segment(b->marker);
    }
    struct counts *c = &segments[n_segments - 1].c;
    c->insns += b->add.insns;
    for (int k = 0; k < N_CLASSES; k++) c->cls[k] += b->add.cls[k];
    for (int k = 0; k < N_EXTRA; k++) c->extra[k] += b->add.extra[k];
    previous = b;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    struct block *b = calloc(1, sizeof *b); /* lives as long as the translation may run */
    if (!b) abort();
    b->vaddr = qemu_plugin_tb_vaddr(tb) & ~(uint64_t)1;
    b->marker = b->vaddr == step_addr ? 1 : b->vaddr == end_addr ? 2 : 0;
    size_t n = qemu_plugin_tb_n_insns(tb);
    int prev_class = -1;
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        char *text = qemu_plugin_insn_disas(insn);
        int regs = 0;
        int c = classify(text ? text : "", &regs);
        free(text);
        if ((c == C_MVE || c == C_OTHER) &&
            is_low_overhead_loop(qemu_plugin_insn_data(insn), qemu_plugin_insn_size(insn))) {
            c = C_LOOP;
        }
        /* A load right after a load or store pipelines its address phase (Cortex-M4 TRM). */
        if (c == C_LOAD && (prev_class == C_LOAD || prev_class == C_LOAD_PIPELINED || prev_class == C_STORE)) {
            c = C_LOAD_PIPELINED;
        }
        b->add.insns++;
        b->add.cls[c]++;
        if (c == C_LDM) b->add.extra[X_REGS_LDM] += regs;
        if (c == C_STM) b->add.extra[X_REGS_STM] += regs;
        if (c == C_PUSH) b->add.extra[X_REGS_PUSH] += regs;
        if (c == C_POP || c == C_POP_PC) b->add.extra[X_REGS_POP] += regs;
        prev_class = c;
        if (i + 1 == n) {
            b->fallthrough = qemu_plugin_insn_vaddr(insn) + qemu_plugin_insn_size(insn);
            b->ends_in_branch = c == C_BRANCH;
        }
    }
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_exec, QEMU_PLUGIN_CB_NO_REGS, b);
}

static void on_plugin_exit(qemu_plugin_id_t id, void *userdata)
{
    (void)id;
    (void)userdata;
    FILE *f = fopen(out_path, "w");
    if (!f) {
        fprintf(stderr, "insn_mix: cannot write %s\n", out_path);
        return;
    }
    static const char *const MARKERS[] = {"start", "step", "end"};
    fprintf(f, "segment\tmarker\tinsns");
    for (int k = 0; k < N_CLASSES; k++) fprintf(f, "\t%s", CLASS_NAMES[k]);
    for (int k = 0; k < N_EXTRA; k++) fprintf(f, "\t%s", EXTRA_NAMES[k]);
    fprintf(f, "\n");
    for (size_t s = 0; s < n_segments; s++) {
        const struct counts *c = &segments[s].c;
        fprintf(f, "%zu\t%s\t%llu", s, MARKERS[segments[s].marker], (unsigned long long)c->insns);
        for (int k = 0; k < N_CLASSES; k++) fprintf(f, "\t%llu", (unsigned long long)c->cls[k]);
        for (int k = 0; k < N_EXTRA; k++) fprintf(f, "\t%llu", (unsigned long long)c->extra[k]);
        fprintf(f, "\n");
    }
    fclose(f);
}

static uint64_t parse_address(const char *text)
{
    return strtoull(text, NULL, 0) & ~(uint64_t)1;
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                                               int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (!strncmp(arg, "arg=", 4)) arg += 4; /* the older `arg=key=value` form */
        if (!strncmp(arg, "out=", 4)) {
            out_path = strdup(arg + 4);
        } else if (!strncmp(arg, "step=", 5)) {
            step_addr = parse_address(arg + 5);
        } else if (!strncmp(arg, "end=", 4)) {
            end_addr = parse_address(arg + 4);
        } else {
            fprintf(stderr, "insn_mix: unknown argument %s\n", arg);
            return -1;
        }
    }
    if (!out_path) {
        fprintf(stderr, "insn_mix: out=FILE is required\n");
        return -1;
    }
    new_segment(0);
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_plugin_exit, NULL);
    return 0;
}
