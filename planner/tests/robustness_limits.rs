//! Resource limits (issue 11, item 2): a model whose shapes are consistent but whose work is out of reach of a
//! microcontroller is refused when its graph is built, with an error naming the limit.

use arenaplan_planner::limits::MAX_MACS;
use arenaplan_planner::tflite::{Activation, Conv2dOptions, DType, Model, OpKind, Operator, Padding, Tensor};
use arenaplan_planner::{Graph, GraphError};

fn tensor(index: usize, shape: &[usize]) -> Tensor<'static> {
    let elements = shape.iter().fold(1usize, |acc, &d| acc.saturating_mul(d));
    Tensor {
        index,
        name: "t",
        shape: shape.to_vec(),
        dtype: DType::Int8,
        buffer: 0,
        data: None,
        quantization: None,
        is_variable: false,
        byte_size: elements,
    }
}

/// One convolution `[1, h, w, c] -> [1, h, w, c]` with a 3x3 filter: `9 * h * w * c * c` MACs.
fn conv_model(h: usize, w: usize, c: usize) -> Model<'static> {
    let options = Conv2dOptions {
        padding: Padding::Same,
        stride_w: 1,
        stride_h: 1,
        activation: Activation::None,
        dilation_w: 1,
        dilation_h: 1,
    };
    Model {
        bytes: &[],
        version: 3,
        description: None,
        tensors: vec![tensor(0, &[1, h, w, c]), tensor(1, &[c, 3, 3, c]), tensor(2, &[1, h, w, c])],
        operators: vec![Operator {
            index: 0,
            kind: OpKind::Conv2d(options),
            inputs: vec![Some(0), Some(1), None],
            outputs: vec![2],
        }],
        inputs: vec![0, 1],
        outputs: vec![2],
        subgraph_count: 1,
        total_tensor_count: 3,
        metadata: Vec::new(),
    }
}

#[test]
fn a_model_above_the_mac_limit_is_refused_naming_it() {
    // 9 * 256 * 256 * 512 * 512 = 154.6 G MACs, from tensors of 32 MiB at most.
    match Graph::from_model(conv_model(256, 256, 512)) {
        Err(GraphError::Limit(e)) => {
            assert_eq!(e.name, "MAX_MACS");
            assert_eq!(e.limit, MAX_MACS);
            assert_eq!(e.value, 9 * 256 * 256 * 512 * 512);
        }
        other => panic!("expected the MAC limit, got {other:?}"),
    }
}

#[test]
fn a_model_within_the_mac_limit_builds() {
    let graph = Graph::from_model(conv_model(32, 32, 16)).expect("within the limits");
    assert_eq!(graph.total_macs(), 9 * 32 * 32 * 16 * 16);
}

#[test]
fn mac_counts_of_absurd_shapes_saturate_instead_of_overflowing() {
    let huge = 1usize << 40;
    match Graph::from_model(conv_model(huge, huge, huge)) {
        Err(GraphError::Limit(e)) => assert_eq!(e.value, u64::MAX),
        other => panic!("expected the MAC limit, got {other:?}"),
    }
}
