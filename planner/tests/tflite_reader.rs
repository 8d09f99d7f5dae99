//! The reader on files the tests construct: one valid tiny int8 model, and one test per kind of bad input.
//! Every bad input gives its specific error, and no input makes the reader panic.

use arenaplan_planner::tflite::{read_model, DType, OpKind, Padding, ReadError};
use flatbuffers::{FlatBufferBuilder, WIPOffset};
use proptest::prelude::*;

fn slot(id: u16) -> u16 {
    4 + 2 * id
}

/// A tensor to build: shape, TFLite type code, buffer index.
struct T {
    shape: Vec<i32>,
    dtype: i8,
    buffer: u32,
}

/// A small model description that tests mutate to make bad files.
struct Spec {
    tensors: Vec<T>,
    /// Buffer contents (buffer 0 is the conventional empty one).
    buffers: Vec<Vec<u8>>,
    opcode: i32,
    op_inputs: Vec<i32>,
    op_outputs: Vec<i32>,
    opcode_index: u32,
    inputs: Vec<i32>,
    outputs: Vec<i32>,
}

/// input [1,5,5,2] -> CONV_2D (weights [3,3,3,2] const, bias [3] const) -> output [1,3,3,3], all int8.
fn conv_spec() -> Spec {
    Spec {
        tensors: vec![
            T { shape: vec![1, 5, 5, 2], dtype: 9, buffer: 0 },
            T { shape: vec![3, 3, 3, 2], dtype: 9, buffer: 1 },
            T { shape: vec![3], dtype: 2, buffer: 2 },
            T { shape: vec![1, 3, 3, 3], dtype: 9, buffer: 0 },
        ],
        buffers: vec![vec![], vec![1; 54], vec![0; 12]],
        opcode: 3,
        op_inputs: vec![0, 1, 2],
        op_outputs: vec![3],
        opcode_index: 0,
        inputs: vec![0],
        outputs: vec![3],
    }
}

fn build(spec: &Spec) -> Vec<u8> {
    let mut fbb = FlatBufferBuilder::new();
    let mut tensors = Vec::new();
    for (i, t) in spec.tensors.iter().enumerate() {
        let shape = fbb.create_vector(&t.shape);
        let name = fbb.create_string(&format!("t{i}"));
        let scale = fbb.create_vector(&[0.5f32]);
        let zp = fbb.create_vector(&[0i64]);
        let q = fbb.start_table();
        fbb.push_slot_always(slot(2), scale);
        fbb.push_slot_always(slot(3), zp);
        let q = fbb.end_table(q);
        let start = fbb.start_table();
        fbb.push_slot_always(slot(0), shape);
        fbb.push_slot::<i8>(slot(1), t.dtype, 0);
        fbb.push_slot::<u32>(slot(2), t.buffer, 0);
        fbb.push_slot_always(slot(3), name);
        fbb.push_slot_always(slot(4), q);
        tensors.push(fbb.end_table(start));
    }
    let tensors = fbb.create_vector(&tensors);
    // Conv2DOptions: VALID padding, stride 1.
    let opts = fbb.start_table();
    fbb.push_slot::<i8>(slot(0), 1, 0);
    fbb.push_slot::<i32>(slot(1), 1, 0);
    fbb.push_slot::<i32>(slot(2), 1, 0);
    let opts = fbb.end_table(opts);
    let op_in = fbb.create_vector(&spec.op_inputs);
    let op_out = fbb.create_vector(&spec.op_outputs);
    let op = fbb.start_table();
    fbb.push_slot::<u32>(slot(0), spec.opcode_index, 0);
    fbb.push_slot_always(slot(1), op_in);
    fbb.push_slot_always(slot(2), op_out);
    fbb.push_slot::<u8>(slot(3), 1, 0);
    fbb.push_slot_always(slot(4), opts);
    let op = fbb.end_table(op);
    let ops = fbb.create_vector(&[op]);
    let inputs = fbb.create_vector(&spec.inputs);
    let outputs = fbb.create_vector(&spec.outputs);
    let sg = fbb.start_table();
    fbb.push_slot_always(slot(0), tensors);
    fbb.push_slot_always(slot(1), inputs);
    fbb.push_slot_always(slot(2), outputs);
    fbb.push_slot_always(slot(3), ops);
    let sg = fbb.end_table(sg);
    let sgs = fbb.create_vector(&[sg]);
    let mut buffers: Vec<WIPOffset<flatbuffers::TableFinishedWIPOffset>> = Vec::new();
    for data in &spec.buffers {
        let data = fbb.create_vector(data);
        let b = fbb.start_table();
        fbb.push_slot_always(slot(0), data);
        buffers.push(fbb.end_table(b));
    }
    let buffers = fbb.create_vector(&buffers);
    let oc = fbb.start_table();
    fbb.push_slot::<i8>(slot(0), spec.opcode.min(127) as i8, 0);
    fbb.push_slot::<i32>(slot(3), spec.opcode, 0);
    let oc = fbb.end_table(oc);
    let ocs = fbb.create_vector(&[oc]);
    let model = fbb.start_table();
    fbb.push_slot::<u32>(slot(0), 3, 0);
    fbb.push_slot_always(slot(1), ocs);
    fbb.push_slot_always(slot(2), sgs);
    fbb.push_slot_always(slot(4), buffers);
    let model = fbb.end_table(model);
    fbb.finish(model, Some("TFL3"));
    fbb.finished_data().to_vec()
}

#[test]
fn reads_a_valid_conv_model() {
    let bytes = build(&conv_spec());
    let m = read_model(&bytes).unwrap();
    assert_eq!(m.tensors.len(), 4);
    assert_eq!(m.operators.len(), 1);
    assert_eq!(m.inputs, vec![0]);
    assert_eq!(m.outputs, vec![3]);
    assert_eq!(m.tensors[0].shape, vec![1, 5, 5, 2]);
    assert_eq!(m.tensors[0].dtype, DType::Int8);
    assert_eq!(m.tensors[0].byte_size, 50);
    assert_eq!(m.tensors[0].data, None);
    assert_eq!(m.tensors[1].data.map(|d| d.len()), Some(54));
    assert_eq!(m.tensors[2].byte_size, 12);
    assert_eq!(m.tensors[3].quantization.as_ref().unwrap().scales, vec![0.5]);
    match m.operators[0].kind {
        OpKind::Conv2d(o) => {
            assert_eq!(o.padding, Padding::Valid);
            assert_eq!((o.stride_w, o.stride_h, o.dilation_w, o.dilation_h), (1, 1, 1, 1));
        }
        other => panic!("expected CONV_2D, read {other:?}"),
    }
    // Constant data are borrowed from the file, not copied.
    let data = m.tensors[1].data.unwrap();
    let file = bytes.as_ptr_range();
    assert!(file.contains(&data.as_ptr()));
}

#[test]
fn a_truncated_file_is_an_error() {
    let bytes = build(&conv_spec());
    assert!(matches!(read_model(&bytes[..5]), Err(ReadError::TooShort { len: 5 })));
    let cut = &bytes[..bytes.len() / 2];
    assert!(read_model(cut).is_err());
}

#[test]
fn a_file_without_the_tflite_identifier_is_an_error() {
    let mut bytes = build(&conv_spec());
    bytes[4..8].copy_from_slice(b"NOPE");
    assert!(matches!(read_model(&bytes), Err(ReadError::NotTflite { found }) if &found == b"NOPE"));
}

#[test]
fn an_out_of_range_tensor_index_names_the_operator() {
    let mut spec = conv_spec();
    spec.op_inputs[1] = 17;
    match read_model(&build(&spec)) {
        Err(ReadError::IndexOutOfRange { owner, kind: "tensor", index: 17, count: 4 }) => {
            assert_eq!(owner, "operator 0 input 1")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_out_of_range_buffer_index_names_the_tensor() {
    let mut spec = conv_spec();
    spec.tensors[1].buffer = 9;
    assert!(matches!(
        read_model(&build(&spec)),
        Err(ReadError::IndexOutOfRange { kind: "buffer", index: 9, ref owner, .. }) if owner == "tensor 1"
    ));
}

#[test]
fn an_out_of_range_opcode_index_is_an_error() {
    let mut spec = conv_spec();
    spec.opcode_index = 3;
    assert!(matches!(read_model(&build(&spec)), Err(ReadError::IndexOutOfRange { kind: "operator code", .. })));
}

#[test]
fn a_float_model_is_an_error_naming_the_tensor() {
    let mut spec = conv_spec();
    spec.tensors[0].dtype = 0;
    assert!(matches!(
        read_model(&build(&spec)),
        Err(ReadError::UnsupportedType { tensor: 0, dtype: DType::Float32, .. })
    ));
}

#[test]
fn an_unsupported_op_is_an_error_naming_it() {
    let mut spec = conv_spec();
    spec.opcode = 16; // LSTM
    match read_model(&build(&spec)) {
        Err(e @ ReadError::UnsupportedOp { op_index: 0, code: 16, .. }) => assert!(e.to_string().contains("LSTM")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_tensor_whose_size_overflows_is_an_error() {
    let mut spec = conv_spec();
    spec.tensors[3].shape = vec![1 << 30, 1 << 30, 1 << 30, 8];
    assert!(matches!(read_model(&build(&spec)), Err(ReadError::BadShape { tensor: 3, .. })));
    let mut spec = conv_spec();
    spec.tensors[3].shape = vec![1, -3, 3, 3];
    assert!(matches!(read_model(&build(&spec)), Err(ReadError::BadShape { tensor: 3, .. })));
}

#[test]
fn every_zoo_model_reads_with_consistent_indices() {
    let names = arenaplan_datasets::model_names();
    for name in &names {
        let bytes = arenaplan_datasets::model_bytes(name).unwrap();
        let m = read_model(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!m.operators.is_empty(), "{name}");
        for t in &m.tensors {
            if t.data.is_none() && t.dtype == DType::Int8 {
                assert!(t.quantization.is_some(), "{name}: int8 activation {} has no quantization", t.index);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = read_model(&bytes);
    }

    #[test]
    fn mutated_models_never_panic(mutations in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
        let mut bytes = build(&conv_spec());
        for (at, value) in mutations {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let _ = read_model(&bytes);
    }
}
