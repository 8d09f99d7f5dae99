//! The `tensor_arena` size TFLM's `MicroInterpreter` needs for a model, beyond the planned (head) section.
//!
//! TFLM keeps everything in the one arena the application hands it: the planned tensors and scratch buffers at
//! the bottom (the *head*), and from the top down the *tail*: its own allocator objects, one `TfLiteEvalTensor`
//! per tensor, one `NodeAndRegistration` per operator, each operator's parsed options and the `OpData` its
//! kernel keeps (with per-channel requantisation multipliers and shifts), scratch-buffer handles and the
//! `TfLiteTensor` structs of the model's inputs and outputs. While the interpreter prepares the model, short-lived
//! *temporary* allocations sit just above the head: the list of scratch-buffer requests, the `TfLiteTensor` views
//! each kernel's `Prepare` asks for, and, while the memory planner runs, its per-buffer bookkeeping (40 bytes per
//! planned buffer) and one `AllocationInfo` per tensor and scratch buffer. So the smallest arena is not always
//! head + tail: on small models the planning step needs more than the head will.
//!
//! [`tflm_tensor_arena`] replays `MicroInterpreter::AllocateTensors` allocation by allocation, in TFLM's order and
//! with TFLM's alignment rules (persistent allocations aligned down from the top, temporary ones aligned up from
//! the head, a persistent allocation only refused when it would cross the head, a temporary one when it would
//! cross the tail), on an arena of a given size, and finds the smallest size that succeeds by bisection (success
//! grows with the size: the head does not move and the tail only moves up). Everything below is written from
//! reading TFLM's sources (`micro_allocator.cc`, `micro_interpreter.cc`, `micro_interpreter_graph.cc`,
//! `micro_allocation_info.cc`, `single_arena_buffer_allocator.cc`, `greedy_memory_planner.h`,
//! `recording_micro_allocator.h`, the kernels' `Init`/`Prepare`) and from the struct sizes a compiler gives for
//! those headers with `TF_LITE_STATIC_MEMORY`; each figure is documented where it is used.
//!
//! Two builds ([`TflmBuild`]):
//!
//! * [`TflmBuild::MCU_32`]: a 32-bit microcontroller (4-byte pointers) running TFLM's reference kernels through
//!   `MicroInterpreter(model, resolver, tensor_arena, size)`: a plain `MicroAllocator` with the greedy planner,
//!   TFLM built without tensor compression by `arm-none-eabi-gcc` (one-byte enums). The arena is assumed 16-byte
//!   aligned (`alignas(16)`); TFLM skips the bytes before the first 16-byte boundary otherwise. CMSIS-NN kernels
//!   keep other `OpData` and request other scratch buffers, so this figure is for the reference kernels.
//! * [`TflmBuild::HOST_PYTHON_64`]: TFLM's Python interpreter (`tflite_micro.runtime.Interpreter`, 8-byte
//!   pointers): a `RecordingMicroAllocator` (larger: it keeps seven or eight counters of three words) and the
//!   wheel's tensor-compression support (one more pointer per subgraph, two more ints in some `OpData`).
//!
//! How exact: the 64-bit figure equals the smallest arena TFLM's Python interpreter accepts (bisected) on all 53
//! zoo models, with arenaplan's offline plans and with TFLM's own plan (`tests/tflm_arena_size.rs` checks the
//! networks and six single-op models on every run). The 32-bit figure was checked once against TFLM (sources of
//! August 2026) built with `arm-none-eabi-gcc` 12 for a Cortex-M4 and run under QEMU (`mps2-an386`), bisecting
//! the arena the same way: equal on the 52 zoo models that build ran (it faulted on `op_fully_connected` at
//! every arena size). That check needs TFLM's sources, so it is not part of the tests.
//!
//! The model covers single-subgraph int8 models of the operators arenaplan reads; it refuses other models
//! rather than guess.
//!
//! # Using the figure
//!
//! `arenaplan export MODEL -s best --format tflm -o model.tflite` prints the size for both builds; on the
//! microcontroller, with the `.tflite` turned into a C array (e.g. `xxd -i model.tflite > model_data.h`), for
//! the zoo's `mobilenet_v1_025_96`:
//!
//! ```cpp
//! #include "tensorflow/lite/micro/micro_interpreter.h"
//! #include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
//! #include "model_data.h"  // unsigned char model_tflite[]: the exported model, with its offline plan
//!
//! constexpr size_t kTensorArenaSize = 82276;  // "TFLM tensor_arena: 82276 B on a 32-bit MCU"
//! alignas(16) static uint8_t tensor_arena[kTensorArenaSize];
//!
//! void setup_model() {
//!   static tflite::MicroMutableOpResolver<5> resolver;  // the model's operators
//!   resolver.AddConv2D();
//!   resolver.AddDepthwiseConv2D();
//!   resolver.AddMean();
//!   resolver.AddReshape();
//!   resolver.AddSoftmax();
//!   static tflite::MicroInterpreter interpreter(tflite::GetModel(model_tflite), resolver, tensor_arena,
//!                                               kTensorArenaSize);
//!   if (interpreter.AllocateTensors() != kTfLiteOk) { /* the arena is too small */ }
//! }
//! ```
//!
//! TFLM honours the offline plan by itself (no flag); `interpreter.arena_used_bytes()` after `AllocateTensors`
//! reports what it used.

use crate::graph::Graph;
use crate::plan::{arena_bytes_of, Plan};
use crate::problem::{BufferOrigin, BufferProblem};
use crate::request::PlanRequest;
use crate::tflite::{OpKind, Tensor};

use super::tflm::{tflm_placement, TFLM_ALIGNMENT_BYTES};
use super::ExportError;

/// TFLM's arena alignment (`MicroArenaBufferAlignment()`).
const ARENA_ALIGN: u64 = 16;
/// Scratch-buffer requests TFLM allows per operator; the request list always has room for this many more.
const MAX_SCRATCH_PER_OP: u64 = 12;
/// Bytes the greedy planner needs per planned buffer: `BufferRequirements` (4 ints), a sorted size and id
/// (2 ints), a `ListEntry` (3 ints) and an offset (1 int): 40 bytes on every build.
const PLANNER_BYTES_PER_BUFFER: u64 = 40;

/// Which TFLM build the arena is for: the sizes of its structs depend on the pointer width, the allocator
/// class and whether tensor compression is compiled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TflmBuild {
    /// A short name for messages, e.g. `32-bit MCU`.
    pub name: &'static str,
    /// `sizeof(void*)`: 4 on Cortex-M, 8 on a 64-bit host.
    pub pointer_bytes: u64,
    /// Whether the interpreter uses a `RecordingMicroAllocator` (TFLM's Python interpreter does).
    pub recording_allocator: bool,
    /// Whether TFLM is built with `USE_TFLM_COMPRESSION` (the Python wheel is).
    pub compression: bool,
    /// Whether enums take the fewest bytes that hold them (`-fshort-enums`, the default of `arm-none-eabi-gcc`):
    /// `TfLiteTensor` and the options structs of ADD, SUB, MUL, FULLY_CONNECTED and TRANSPOSE_CONV shrink.
    pub short_enums: bool,
    /// Size and alignment of the options TFLM keeps per FULLY_CONNECTED: 16 B, 4-aligned, in the sources read
    /// (August 2026; 5 B, 1-aligned, with short enums); 32 B, 8-aligned, measured in the Python wheel of
    /// October 2026.
    pub fully_connected_options: (u64, u64),
}

impl TflmBuild {
    /// A 32-bit microcontroller: `MicroInterpreter(model, resolver, tensor_arena, size)`, reference kernels,
    /// no compression.
    pub const MCU_32: TflmBuild = TflmBuild {
        name: "32-bit MCU",
        pointer_bytes: 4,
        recording_allocator: false,
        compression: false,
        short_enums: true,
        fully_connected_options: (5, 1),
    };
    /// TFLM's Python interpreter on a 64-bit host (recording allocator, compression compiled in).
    pub const HOST_PYTHON_64: TflmBuild = TflmBuild {
        name: "64-bit host",
        pointer_bytes: 8,
        recording_allocator: true,
        compression: true,
        short_enums: false,
        fully_connected_options: (32, 8),
    };

    /// `sizeof(SingleArenaBufferAllocator)` (two interface vtable pointers, five pointers, an `intptr_t`
    /// checksum, an `int` count), or of `RecordingSingleArenaBufferAllocator` (four `size_t` more).
    fn buffer_allocator_bytes(&self) -> u64 {
        let p = self.pointer_bytes;
        let plain = round_up(2 * p + 5 * p + p + 4, p);
        if self.recording_allocator {
            plain + 4 * p
        } else {
            plain
        }
    }

    /// `sizeof(GreedyMemoryPlanner)`: vtable pointer, five pointers, four ints and a bool.
    fn planner_bytes(&self) -> u64 {
        let p = self.pointer_bytes;
        // vptr, max_buffer_count_ + buffer_count_, four pointers, next_free_entry_ + first_entry_index_,
        // buffer_offsets_, need_to_calculate_offsets_.
        round_up(round_up(p + 8, p) + 4 * p + 8 + p + 1, p)
    }

    /// `sizeof(MicroAllocator)` (vtable pointer, four pointers, a bool, two `size_t` and a pointer), or of
    /// `RecordingMicroAllocator` (a pointer and one `RecordedAllocation` of three `size_t` per recorded kind:
    /// seven, eight with compression).
    fn micro_allocator_bytes(&self) -> u64 {
        let p = self.pointer_bytes;
        let plain = p + 4 * p + p + 3 * p;
        if self.recording_allocator {
            let kinds = if self.compression { 8 } else { 7 };
            plain + p + kinds * 3 * p
        } else {
            plain
        }
    }

    /// `sizeof(SubgraphAllocations)`: two pointers, three with compression (the compressed-tensor list).
    fn subgraph_allocations_bytes(&self) -> u64 {
        self.pointer_bytes * if self.compression { 3 } else { 2 }
    }

    /// `sizeof(TfLiteEvalTensor)`: data and dims pointers and the type.
    fn eval_tensor_bytes(&self) -> u64 {
        round_up(2 * self.pointer_bytes + 4, self.pointer_bytes)
    }

    /// `sizeof(NodeAndRegistration)`: a `TfLiteNode` (56 B on 64-bit, 28 B on 32-bit with
    /// `TF_LITE_STATIC_MEMORY`: six pointers and an int) and a registration pointer.
    fn node_and_registration_bytes(&self) -> u64 {
        round_up(6 * self.pointer_bytes + 4, self.pointer_bytes) + self.pointer_bytes
    }

    /// `sizeof(TfLiteTensor)` with `TF_LITE_STATIC_MEMORY`: 64 B on 64-bit; on 32-bit 40 B, or 32 B with short
    /// enums (its type, allocation type and quantisation type fields shrink to a byte each).
    fn tensor_bytes(&self) -> u64 {
        match (self.pointer_bytes, self.short_enums) {
            (8, _) => 64,
            (_, false) => 40,
            (_, true) => 32,
        }
    }

    /// `sizeof(TfLiteAffineQuantization)`: two pointers and an int.
    fn affine_quantization_bytes(&self) -> u64 {
        round_up(2 * self.pointer_bytes + 4, self.pointer_bytes)
    }

    /// `sizeof(internal::ScratchBufferRequest)`: a `size_t` and two ints.
    fn scratch_request_bytes(&self) -> u64 {
        round_up(self.pointer_bytes + 8, self.pointer_bytes)
    }

    /// `sizeof(AllocationInfo)`: a `size_t`, a pointer, three ints and a bool.
    fn allocation_info_bytes(&self) -> u64 {
        round_up(2 * self.pointer_bytes + 12 + 1, self.pointer_bytes)
    }
}

/// What [`tflm_tensor_arena`] finds for one build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TflmArena {
    /// The build.
    pub build: TflmBuild,
    /// The smallest `tensor_arena` size with which `AllocateTensors` succeeds.
    pub arena_bytes: u64,
    /// The planned section (activations and scratch) TFLM reserves.
    pub head_bytes: u64,
    /// The persistent section TFLM keeps after `AllocateTensors`, in an arena of `arena_bytes`.
    pub tail_bytes: u64,
}

/// One allocation a kernel makes while TFLM prepares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PrepareStep {
    /// `AllocateTempInputTensor` / `AllocateTempOutputTensor` of this tensor (a temporary `TfLiteTensor` and,
    /// when the tensor is quantised, a temporary `TfLiteAffineQuantization` and zero-point array).
    Temp(usize),
    /// `AllocatePersistentBuffer` of this many bytes (16-byte aligned).
    Persistent(u64),
}

/// What TFLM allocates for one operator: its parsed options (`builtin_data`, size and alignment), the `OpData`
/// its `Init` allocates, and its `Prepare` allocations in order.
struct OpAllocations {
    builtin: Option<(u64, u64)>,
    op_data_bytes: Option<u64>,
    prepare: Vec<PrepareStep>,
}

fn round_up(value: u64, align: u64) -> u64 {
    value.div_ceil(align) * align
}

fn round_down(value: u64, align: u64) -> u64 {
    value / align * align
}

/// The allocation sequence of one operator, from its kernel's `Init` and `Prepare` (TFLM reference kernels).
fn op_allocations(graph: &Graph<'_>, op_index: usize, build: &TflmBuild) -> Result<OpAllocations, ExportError> {
    let model = graph.model();
    let op = &model.operators[op_index];
    let p = build.pointer_bytes;
    let comp = build.compression;
    let input = |i: usize| op.inputs.get(i).copied().flatten();
    let temps_in = |ids: &[usize]| ids.iter().filter_map(|&i| input(i)).map(PrepareStep::Temp).collect::<Vec<_>>();
    let out = |i: usize| op.outputs.get(i).copied().map(PrepareStep::Temp);
    let channels = |tensor: Option<usize>, axis: usize| -> u64 {
        tensor.and_then(|t| model.tensors[t].shape.get(axis).copied()).unwrap_or(0) as u64
    };
    // Ordinary "every input then every output" Prepare.
    let all_temps = || {
        let mut steps: Vec<PrepareStep> = op.inputs.iter().flatten().map(|&t| PrepareStep::Temp(t)).collect();
        steps.extend(op.outputs.iter().map(|&t| PrepareStep::Temp(t)));
        steps
    };
    // Size and alignment of a builtin-options struct with int-sized enums, and with one-byte enums.
    let enums = |int_enums: (u64, u64), short: (u64, u64)| if build.short_enums { short } else { int_enums };
    let simple = |builtin: Option<(u64, u64)>, op_data: Option<u64>| OpAllocations {
        builtin,
        op_data_bytes: op_data,
        prepare: all_temps(),
    };
    Ok(match &op.kind {
        // TfLiteConvParams / TfLiteDepthwiseConvParams: 7 ints. OpDataConv: padding (4 ints), 5 ints, two
        // per-channel pointers, 3 ints (+2 ints with compression). Prepare: output, input and filter views, the
        // per-channel multiplier and shift arrays (4 B per output channel each), then CalculateOpData's input,
        // filter, bias and output views.
        OpKind::Conv2d(_) | OpKind::DepthwiseConv2d(_) => {
            let axis = if matches!(op.kind, OpKind::Conv2d(_)) { 0 } else { 3 };
            let c = channels(input(1), axis);
            let op_data = round_up(round_up(36, p) + 2 * p + 12 + if comp { 8 } else { 0 }, p);
            let mut prepare: Vec<PrepareStep> = out(0).into_iter().collect();
            prepare.extend(temps_in(&[0, 1]));
            prepare.push(PrepareStep::Persistent(4 * c));
            prepare.push(PrepareStep::Persistent(4 * c));
            prepare.extend(temps_in(&[0, 1, 2]));
            prepare.extend(out(0));
            OpAllocations { builtin: Some((28, 4)), op_data_bytes: Some(op_data), prepare }
        }
        // TfLiteFullyConnectedParams: 4 words in the August 2026 sources (the 32-bit figure uses them); the
        // Python wheel of October 2026 keeps 32 bytes, 8-aligned, at this point of the parse (measured: 16
        // bytes more per FULLY_CONNECTED in the tail, and the alignment the zoo networks' tails need; the new
        // field is not in the sources read). OpDataFullyConnected: 9 ints, two pointers, a bool (+2 ints).
        // Prepare: input, filter, bias, output views; per-channel arrays when the filter has per-channel scales.
        OpKind::FullyConnected(_) => {
            let op_data = round_up(round_up(36, p) + 2 * p + 1 + if comp { 8 } else { 0 }, p);
            let mut prepare = temps_in(&[0, 1, 2]);
            prepare.extend(out(0));
            let filter_scales =
                input(1).and_then(|t| model.tensors[t].quantization.as_ref()).map_or(0, |q| q.scales.len() as u64);
            if filter_scales > 1 {
                prepare.push(PrepareStep::Persistent(4 * filter_scales));
                prepare.push(PrepareStep::Persistent(4 * filter_scales));
            }
            OpAllocations { builtin: Some(build.fully_connected_options), op_data_bytes: Some(op_data), prepare }
        }
        // TfLiteAddParams (2 words); OpDataAdd: a bool, 12 ints, 2 floats.
        OpKind::Add { .. } => simple(Some(enums((8, 4), (2, 1))), Some(60)),
        // TfLiteSubParams (2 words); OpDataSub: a bool and 12 ints.
        OpKind::Sub { .. } => simple(Some(enums((8, 4), (2, 1))), Some(52)),
        // TfLiteMulParams (1 word); OpDataMul: 7 ints, 2 floats.
        OpKind::Mul { .. } => simple(Some(enums((4, 4), (1, 1))), Some(36)),
        // TfLitePoolParams (10 words); OpDataPooling: padding (4 ints), 2 ints, 2 floats.
        OpKind::AveragePool2d(_) | OpKind::MaxPool2d(_) => simple(Some((40, 4)), Some(32)),
        // TfLiteReducerParams (a bool); OpDataReduce: 11 words. Prepare: input, output, axis views, then
        // PrepareSimple's input, axis and output views (its scratch requests are the problem's scratch buffers).
        OpKind::Mean(_) => {
            let mut prepare = temps_in(&[0]);
            prepare.extend(out(0));
            prepare.extend(temps_in(&[1, 0, 1]));
            prepare.extend(out(0));
            OpAllocations { builtin: Some((1, 1)), op_data_bytes: Some(44), prepare }
        }
        // TfLiteSoftmaxParams (a float); SoftmaxParams: 80 B on 64-bit, 56 B on 32-bit (it holds LUT pointers).
        OpKind::Softmax(_) => simple(Some((4, 4)), Some(if p == 8 { 80 } else { 56 })),
        // HardSwishParams: 20 B.
        OpKind::HardSwish => simple(None, Some(20)),
        // ConcatenationParams (int8 axis, two pointers, uint16 count, int32 zero point, float scale) and, with
        // compression, 10 scratch indices. Prepare: input 0 and output, then every input.
        OpKind::Concatenation(_) => {
            let params = round_up(round_up(1, p) + 2 * p + 4 + 4 + 4, p);
            let op_data = params + if comp { 40 } else { 0 };
            let mut prepare = temps_in(&[0]);
            prepare.extend(out(0));
            prepare.extend(op.inputs.iter().flatten().map(|&t| PrepareStep::Temp(t)));
            OpAllocations { builtin: Some((8, 4)), op_data_bytes: Some(op_data), prepare }
        }
        // TfLiteReshapeParams (9 words); no Init.
        OpKind::Reshape => {
            let mut prepare = temps_in(&[0]);
            prepare.extend(out(0));
            OpAllocations { builtin: Some((36, 4)), op_data_bytes: None, prepare }
        }
        OpKind::Squeeze => simple(Some((36, 4)), None),
        OpKind::ExpandDims => simple(None, None),
        // ReluOpData: ReluParams (7 ints); Relu6OpData: 2 ints.
        OpKind::Relu => simple(None, Some(28)),
        OpKind::Relu6 => simple(None, Some(8)),
        // TfLiteLeakyReluParams (a float); LeakyReluOpData: 6 ints.
        OpKind::LeakyRelu { .. } => simple(Some((4, 4)), Some(24)),
        // PreluParams: 7 ints.
        OpKind::Prelu => simple(None, Some(28)),
        OpKind::Maximum | OpKind::Minimum => simple(None, None),
        // OpDataLogistic / tanh's OpData: 4 ints.
        OpKind::Logistic | OpKind::Tanh => simple(None, Some(16)),
        // Pad's OpData: PadParams (two counts and two arrays of 5 ints, a category) and an int: 56 B.
        OpKind::Pad | OpKind::PadV2 => simple(None, Some(56)),
        // OpDataQuantizeReference / DequantizeOpData: quantisation parameters (an int and a double) and 3 ints.
        OpKind::Quantize | OpKind::Dequantize => simple(None, Some(32)),
        OpKind::Transpose | OpKind::Slice => simple(None, None),
        // TfLiteStridedSliceParams (6 words); StridedSliceParams: three counts with arrays of 5 ints, 5 masks
        // and a bool: 84 B.
        OpKind::StridedSlice(_) => simple(Some((24, 4)), Some(84)),
        OpKind::Split { .. } | OpKind::SplitV { .. } => simple(Some((4, 4)), None),
        OpKind::ResizeNearestNeighbor(_) | OpKind::ResizeBilinear(_) => simple(Some((2, 1)), None),
        // TfLitePackParams / TfLiteUnpackParams (2 ints); no Init, and Prepare asks for no tensor views.
        OpKind::Pack { .. } | OpKind::Unpack { .. } => {
            OpAllocations { builtin: Some((8, 4)), op_data_bytes: None, prepare: Vec::new() }
        }
        // TfLiteTransposeConvParams (5 words). OpData: ConvParams (56 B), 2 ints (+2 with compression), two
        // per-channel pointers. Prepare: output, input, filter views, the per-channel arrays, then
        // CalculateOpData's input, filter, bias and output views (inputs: 0 output shape, 1 filter, 2 input,
        // 3 bias).
        OpKind::TransposeConv(_) => {
            let c = channels(input(1), 0);
            let op_data = round_up(56 + 8 + if comp { 8 } else { 0 }, p) + 2 * p;
            let mut prepare: Vec<PrepareStep> = out(0).into_iter().collect();
            prepare.extend(temps_in(&[2, 1]));
            prepare.push(PrepareStep::Persistent(4 * c));
            prepare.push(PrepareStep::Persistent(4 * c));
            prepare.extend(temps_in(&[2, 1, 3]));
            prepare.extend(out(0));
            OpAllocations { builtin: Some(enums((20, 4), (16, 4))), op_data_bytes: Some(op_data), prepare }
        }
    })
}

/// Why an allocation failed in the replay.
struct OutOfArena;

/// TFLM's single-arena allocator, replayed with offsets from the (16-byte aligned) start of the arena.
struct ArenaReplay {
    head: u64,
    temp: u64,
    tail: u64,
    top: u64,
}

impl ArenaReplay {
    fn new(size: u64) -> Self {
        ArenaReplay { head: 0, temp: 0, tail: size, top: size }
    }

    /// `AllocatePersistentBuffer`: aligned down from the tail; refused only below the head.
    fn persistent(&mut self, size: u64, align: u64) -> Result<(), OutOfArena> {
        let start = self.tail.checked_sub(size).ok_or(OutOfArena)?;
        let aligned = round_down(start, align);
        if aligned < self.head {
            return Err(OutOfArena);
        }
        self.tail = aligned;
        Ok(())
    }

    /// `AllocateTemp`: aligned up from the temp pointer; refused past the tail.
    fn temp(&mut self, size: u64, align: u64) -> Result<(), OutOfArena> {
        let aligned = round_up(self.temp, align);
        if aligned.checked_add(size).is_none_or(|end| end > self.tail) {
            return Err(OutOfArena);
        }
        self.temp = aligned + size;
        Ok(())
    }

    /// `ResizeBuffer` of the resizable buffer at the start of the arena (after `ResetTempAllocations`).
    fn resize_head(&mut self, size: u64) -> Result<(), OutOfArena> {
        if size > self.tail {
            return Err(OutOfArena);
        }
        self.head = size;
        self.temp = size;
        Ok(())
    }

    fn reset_temp(&mut self) {
        self.temp = self.head;
    }
}

/// Everything the replay needs, computed once per model and build.
struct Replay<'g, 'a> {
    graph: &'g Graph<'a>,
    build: TflmBuild,
    ops: Vec<OpAllocations>,
    scratch_per_op: Vec<u64>,
    planned_tensors: u64,
    head_bytes: u64,
}

impl Replay<'_, '_> {
    /// Zero-point array of a quantised tensor: `TfLiteIntArray` of one int per scale.
    fn quantization(&self, tensor: &Tensor<'_>) -> Option<u64> {
        let q = tensor.quantization.as_ref()?;
        (!q.scales.is_empty() && !q.zero_points.is_empty()).then(|| 4 + 4 * q.scales.len() as u64)
    }

    /// `MicroInterpreter::AllocateTensors` in an arena of `size` bytes; the tail in the end, or `None` when TFLM
    /// would fail.
    fn run(&self, size: u64) -> Option<u64> {
        self.try_run(size).ok()
    }

    fn try_run(&self, size: u64) -> Result<u64, OutOfArena> {
        let b = &self.build;
        let p = b.pointer_bytes;
        let model = self.graph.model();
        let mut a = ArenaReplay::new(size);
        // MicroAllocator::Create / RecordingMicroAllocator::Create: the buffer allocator, the greedy planner
        // and the micro allocator itself, each aligned to its own alignment (a pointer's).
        a.persistent(b.buffer_allocator_bytes(), p)?;
        a.persistent(b.planner_bytes(), p)?;
        a.persistent(b.micro_allocator_bytes(), p)?;
        // StartModelAllocation: MicroBuiltinDataAllocator (vtable pointer and a pointer), the scratch-request
        // list at the head (room for 12), SubgraphAllocations, the eval tensors, the nodes and registrations.
        a.persistent(2 * p, p)?;
        a.resize_head(b.scratch_request_bytes() * MAX_SCRATCH_PER_OP)?;
        a.persistent(b.subgraph_allocations_bytes(), p)?;
        a.persistent(b.eval_tensor_bytes() * model.tensors.len() as u64, p)?;
        a.persistent(b.node_and_registration_bytes() * model.operators.len() as u64, p)?;
        // Parsing: each operator's builtin options.
        for op in &self.ops {
            if let Some((bytes, align)) = op.builtin {
                a.persistent(bytes, align)?;
            }
        }
        // Init: each kernel's OpData.
        for op in &self.ops {
            if let Some(bytes) = op.op_data_bytes {
                a.persistent(bytes, ARENA_ALIGN)?;
            }
        }
        // Prepare, operator by operator; then FinishPrepareNodeAllocations resets the temporaries and grows
        // the request list to hold this operator's requests and 12 more.
        let mut requests = 0u64;
        for (op, &scratch) in self.ops.iter().zip(&self.scratch_per_op) {
            let mut structs_end = a.temp;
            for step in &op.prepare {
                match *step {
                    // TFLM only refuses a persistent allocation below the head, but one that reaches into this
                    // Prepare's temporary structs overwrites their pointers (the kernel fills it at once), and
                    // TFLM then fails when it frees them (its checksum of temporary pointers no longer
                    // matches); so the allocation must stay above the last pointer of those structs. (Overwriting
                    // a zero-point array above it is harmless.)
                    PrepareStep::Persistent(bytes) => {
                        a.persistent(bytes, ARENA_ALIGN)?;
                        if a.tail < structs_end {
                            return Err(OutOfArena);
                        }
                    }
                    PrepareStep::Temp(t) => {
                        a.temp(b.tensor_bytes(), p)?;
                        structs_end = a.temp;
                        if let Some(zero_points) = self.quantization(&model.tensors[t]) {
                            a.temp(b.affine_quantization_bytes(), p)?;
                            // Its last field (`quantized_dimension`) is not read when it is freed.
                            structs_end = a.temp - (b.affine_quantization_bytes() - 2 * p);
                            a.temp(zero_points, 4)?;
                        }
                    }
                }
            }
            requests += scratch;
            a.reset_temp();
            a.resize_head(b.scratch_request_bytes() * (requests + MAX_SCRATCH_PER_OP))?;
        }
        // FinishModelAllocation: scratch-buffer handles (a pointer each), then the plan: subgraph offsets and
        // AllocationInfo per tensor and scratch buffer as temporaries, and all that remains for the planner,
        // which needs 40 bytes per planned buffer.
        if requests > 0 {
            a.persistent(p * requests, p)?;
        }
        a.temp(p, p)?;
        a.temp(b.allocation_info_bytes() * (model.tensors.len() as u64 + requests), p)?;
        let remaining = round_down(a.tail, ARENA_ALIGN).saturating_sub(round_up(a.temp, ARENA_ALIGN));
        if remaining / PLANNER_BYTES_PER_BUFFER < self.planned_tensors + requests {
            return Err(OutOfArena);
        }
        // The temporaries go, the request list goes, and the head is reserved for the plan.
        a.resize_head(0)?;
        a.resize_head(self.head_bytes)?;
        // The interpreter's input and output TfLiteTensors (a pointer array, then each tensor and its
        // quantisation: TfLiteAffineQuantization and a zero-point array).
        for list in [&model.inputs, &model.outputs] {
            a.persistent(p * list.len() as u64, ARENA_ALIGN)?;
            for &t in list.iter() {
                a.persistent(b.tensor_bytes(), p)?;
                if let Some(zero_points) = self.quantization(&model.tensors[t]) {
                    a.persistent(b.affine_quantization_bytes(), p)?;
                    a.persistent(zero_points, 4)?;
                }
            }
        }
        Ok(a.top - a.tail)
    }
}

/// TFLM's `tensor_arena` for `plan` exported with [`super::tflm::to_tflm`]: the head is what TFLM makes of the
/// offline plan ([`super::tflm::predicted_tflm_head`]). The plan is checked against `graph` first.
pub fn tflm_arena_for_plan(graph: &Graph<'_>, plan: &Plan, build: TflmBuild) -> Result<TflmArena, ExportError> {
    let problem = super::checked_problem(graph, plan)?;
    let head = super::tflm::predicted_tflm_head(&problem, &plan.offsets);
    tflm_tensor_arena(graph, &problem, head, build)
}

/// TFLM's `tensor_arena` for the model as it is: TFLM's own online plan (its greedy planner), or the offline plan
/// the file already carries.
pub fn tflm_arena_for_model(graph: &Graph<'_>, build: TflmBuild) -> Result<TflmArena, ExportError> {
    let request = PlanRequest { alignment_bytes: TFLM_ALIGNMENT_BYTES, ..PlanRequest::default() };
    let problem = crate::lowering::lower(graph, &graph.default_schedule(), &request)?.problem;
    let head = match super::tflm::embedded_plan(graph, &problem)? {
        Some(embedded) => embedded.head_bytes,
        None => arena_bytes_of(&problem, &tflm_placement(&problem, &vec![None; problem.buffers.len()])),
    };
    tflm_tensor_arena(graph, &problem, head, build)
}

/// The smallest `tensor_arena` TFLM's `MicroInterpreter` needs for `graph` when its planned section measures
/// `head_bytes` (TFLM's head with the model's offline plan, e.g. [`super::tflm::predicted_tflm_head`], or its own
/// online plan), on `build`. `problem` is the model lowered for TFLM's reference kernels in file order: its
/// scratch buffers are the kernels' scratch requests.
pub fn tflm_tensor_arena(
    graph: &Graph<'_>,
    problem: &BufferProblem,
    head_bytes: u64,
    build: TflmBuild,
) -> Result<TflmArena, ExportError> {
    let model = graph.model();
    if model.subgraph_count != 1 {
        return Err(ExportError::Unsupported {
            format: "tflm",
            reason: format!(
                "the model has {} subgraphs; the TFLM arena model covers single-subgraph models",
                model.subgraph_count
            ),
        });
    }
    let ops = (0..model.operators.len()).map(|i| op_allocations(graph, i, &build)).collect::<Result<Vec<_>, _>>()?;
    let mut scratch_per_op = vec![0u64; model.operators.len()];
    for buffer in &problem.buffers {
        if let BufferOrigin::Scratch(op) = buffer.origin {
            if let Some(count) = scratch_per_op.get_mut(op as usize) {
                *count += 1;
            }
        }
    }
    // TFLM plans every tensor with no data, not a variable, of non-zero size, used or not.
    let planned_tensors =
        model.tensors.iter().filter(|t| t.data.is_none() && !t.is_variable && t.byte_size > 0).count() as u64;
    let replay = Replay { graph, build, ops, scratch_per_op, planned_tensors, head_bytes };
    // Bisection: `hi` succeeds, `lo` fails.
    let mut hi = head_bytes.max(1024);
    while replay.run(hi).is_none() {
        hi = hi.checked_mul(2).ok_or_else(|| ExportError::Tflm("the TFLM arena does not fit in 64 bits".into()))?;
    }
    let mut lo = 0u64;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if replay.run(mid).is_some() {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let tail_bytes = replay.run(hi).expect("the bisection keeps a size that succeeds");
    Ok(TflmArena { build, arena_bytes: hi, head_bytes, tail_bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_sizes_match_the_compiled_headers() {
        // Sizes a compiler gives for TFLM's headers with TF_LITE_STATIC_MEMORY (x86-64 and 32-bit).
        let host = TflmBuild { compression: false, recording_allocator: false, ..TflmBuild::HOST_PYTHON_64 };
        assert_eq!((host.eval_tensor_bytes(), TflmBuild::MCU_32.eval_tensor_bytes()), (24, 12));
        assert_eq!((host.node_and_registration_bytes(), TflmBuild::MCU_32.node_and_registration_bytes()), (64, 32));
        assert_eq!((host.affine_quantization_bytes(), TflmBuild::MCU_32.affine_quantization_bytes()), (24, 12));
        assert_eq!(host.planner_bytes(), 72);
    }

    #[test]
    fn persistent_allocations_align_down_and_stop_at_the_head() {
        let mut a = ArenaReplay::new(100);
        a.resize_head(40).ok().unwrap();
        assert!(a.persistent(10, 16).is_ok());
        assert_eq!(a.tail, 80);
        // 80 - 40 aligns down to 32, below the head.
        assert!(a.persistent(40, 16).is_err());
        assert!(a.persistent(32, 16).is_ok());
        assert_eq!(a.tail, 48);
        assert!(a.temp(8, 1).is_ok());
        assert!(a.temp(1, 1).is_err());
    }
}
