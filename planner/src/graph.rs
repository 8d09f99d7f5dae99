//! The graph IR: operators and tensors of one `.tflite` subgraph, with shapes and MAC counts.
//!
//! petgraph is kept private; the outside world speaks in [`OpId`] and [`TensorId`], which are the operator
//! and tensor indices of the `.tflite` subgraph. The model is never mutated, and constant data stay borrowed
//! from the model bytes.

use petgraph::graph::{DiGraph, NodeIndex};
use serde::{Deserialize, Serialize};

use crate::limits::{check, LimitError, Limits};
use crate::tflite::{read_model_within, Model, OpKind, Operator, Tensor};

/// An operator: its index in the `.tflite` subgraph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OpId(pub u32);

/// A tensor: its index in the `.tflite` subgraph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TensorId(pub u32);

/// A graph that cannot be executed as a dataflow graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// Two operators write the same tensor.
    #[error("tensor {tensor} is written by operator {first} and again by operator {second}")]
    ProducedTwice {
        /// The tensor index.
        tensor: usize,
        /// The first writer.
        first: usize,
        /// The second writer.
        second: usize,
    },
    /// An operator writes a model input or a constant tensor.
    #[error("operator {op} writes tensor {tensor}, which is a model input or a constant")]
    WritesInputOrConstant {
        /// The operator index.
        op: usize,
        /// The tensor index.
        tensor: usize,
    },
    /// An operator reads a tensor nobody produced before it (the file order is not a valid schedule).
    #[error("operator {op} reads tensor {tensor}, which no earlier operator produces and is not a model input")]
    UseBeforeDefinition {
        /// The operator index.
        op: usize,
        /// The tensor index.
        tensor: usize,
    },
    /// The model exceeds a resource limit of [`crate::limits`] (e.g. its multiply-accumulates).
    #[error(transparent)]
    Limit(#[from] LimitError),
}

/// The dataflow graph of a model.
#[derive(Debug, Clone)]
pub struct Graph<'a> {
    model: Model<'a>,
    /// One node per operator (node index == op index); one edge per (producer, consumer, tensor).
    dag: DiGraph<OpId, TensorId>,
    producer: Vec<Option<OpId>>,
    consumers: Vec<Vec<OpId>>,
    macs: Vec<u64>,
}

/// Multiply-accumulates of one operator, by the rule documented on [`Graph::macs`] (saturating: a corrupt
/// file's shapes cannot overflow the count).
fn op_macs(model: &Model<'_>, op: &Operator) -> u64 {
    let product = |dims: &mut dyn Iterator<Item = &usize>| dims.fold(1u64, |acc, &d| acc.saturating_mul(d as u64));
    let out_elems = |i: usize| op.outputs.get(i).map(|&t| product(&mut model.tensors[t].shape.iter())).unwrap_or(0);
    let input_shape = |i: usize| op.inputs.get(i).copied().flatten().map(|t| model.tensors[t].shape.as_slice());
    let dims = |i: usize| input_shape(i).unwrap_or(&[]);
    match &op.kind {
        // weights [cout, kh, kw, cin]
        OpKind::Conv2d(_) => out_elems(0).saturating_mul(product(&mut dims(1).iter().skip(1))),
        // weights [1, kh, kw, cout]
        OpKind::DepthwiseConv2d(_) => out_elems(0).saturating_mul(product(&mut dims(1).iter().skip(1).take(2))),
        // weights [cout, kh, kw, cin]: every input element meets kh * kw * cout weights
        OpKind::TransposeConv(_) => product(&mut dims(2).iter()).saturating_mul(product(&mut dims(1).iter().take(3))),
        // weights [cout, cin]
        OpKind::FullyConnected(_) => out_elems(0).saturating_mul(dims(1).last().map(|&d| d as u64).unwrap_or(0)),
        OpKind::AveragePool2d(p) | OpKind::MaxPool2d(p) => {
            out_elems(0).saturating_mul((p.filter_h as u64).saturating_mul(p.filter_w as u64))
        }
        OpKind::Add { .. } | OpKind::Mul { .. } | OpKind::Sub { .. } | OpKind::Maximum | OpKind::Minimum => {
            out_elems(0)
        }
        OpKind::Mean(_) => product(&mut dims(0).iter()),
        // Activations, layout and data movement: no multiply-accumulates.
        OpKind::Softmax(_)
        | OpKind::Logistic
        | OpKind::HardSwish
        | OpKind::Reshape
        | OpKind::Concatenation(_)
        | OpKind::Pad
        | OpKind::PadV2
        | OpKind::Quantize
        | OpKind::Dequantize
        | OpKind::Relu
        | OpKind::Relu6
        | OpKind::Transpose
        | OpKind::LeakyRelu { .. }
        | OpKind::Tanh
        | OpKind::StridedSlice(_)
        | OpKind::Slice
        | OpKind::Split { .. }
        | OpKind::SplitV { .. }
        | OpKind::Squeeze
        | OpKind::ExpandDims
        | OpKind::ResizeNearestNeighbor(_)
        | OpKind::Pack { .. }
        | OpKind::Unpack { .. } => 0,
        // One multiply per output element (PRELU's slope), four per output element (bilinear weights).
        OpKind::Prelu => out_elems(0),
        OpKind::ResizeBilinear(_) => out_elems(0).saturating_mul(4),
    }
}

impl<'a> Graph<'a> {
    /// Read a `.tflite` file and build its graph.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, crate::Error> {
        Graph::from_bytes_within(bytes, &Limits::default())
    }

    /// [`Graph::from_bytes`] under the resource limits `limits` (raised by a user; refused above
    /// [`Limits::CEILING`]).
    pub fn from_bytes_within(bytes: &'a [u8], limits: &Limits) -> Result<Self, crate::Error> {
        Ok(Graph::from_model_within(read_model_within(bytes, limits)?, limits)?)
    }

    /// Build the graph of a model that the reader accepted; refuses a model above [`MAX_MACS`](crate::limits::MAX_MACS).
    pub fn from_model(model: Model<'a>) -> Result<Self, GraphError> {
        Graph::from_model_within(model, &Limits::default())
    }

    /// [`Graph::from_model`] with the MAC limit of `limits`.
    pub fn from_model_within(model: Model<'a>, limits: &Limits) -> Result<Self, GraphError> {
        let n_tensors = model.tensors.len();
        let mut producer: Vec<Option<OpId>> = vec![None; n_tensors];
        let mut consumers: Vec<Vec<OpId>> = vec![Vec::new(); n_tensors];
        let mut dag = DiGraph::with_capacity(model.operators.len(), model.operators.len() * 2);
        let nodes: Vec<NodeIndex> = (0..model.operators.len()).map(|i| dag.add_node(OpId(i as u32))).collect();
        let mut defined: Vec<bool> = model.tensors.iter().map(|t| t.data.is_some() || t.is_variable).collect();
        for &t in &model.inputs {
            defined[t] = true;
        }
        for (i, op) in model.operators.iter().enumerate() {
            for &t in op.inputs.iter().flatten() {
                if !defined[t] {
                    return Err(GraphError::UseBeforeDefinition { op: i, tensor: t });
                }
                if let Some(p) = producer[t] {
                    dag.add_edge(nodes[p.0 as usize], nodes[i], TensorId(t as u32));
                }
                if consumers[t].last() != Some(&OpId(i as u32)) {
                    consumers[t].push(OpId(i as u32));
                }
            }
            for &t in &op.outputs {
                if let Some(first) = producer[t] {
                    return Err(GraphError::ProducedTwice { tensor: t, first: first.0 as usize, second: i });
                }
                if defined[t] {
                    return Err(GraphError::WritesInputOrConstant { op: i, tensor: t });
                }
                producer[t] = Some(OpId(i as u32));
                defined[t] = true;
            }
        }
        let macs: Vec<u64> = model.operators.iter().map(|op| op_macs(&model, op)).collect();
        let total = macs.iter().fold(0u64, |sum, &m| sum.saturating_add(m));
        check(|| "the model's multiply-accumulates per inference".to_owned(), total, limits.macs, "MAX_MACS")?;
        Ok(Graph { model, dag, producer, consumers, macs })
    }

    /// The model the graph was built from.
    pub fn model(&self) -> &Model<'a> {
        &self.model
    }

    /// Number of operators.
    pub fn op_count(&self) -> usize {
        self.model.operators.len()
    }

    /// Number of tensors.
    pub fn tensor_count(&self) -> usize {
        self.model.tensors.len()
    }

    /// An operator.
    pub fn op(&self, id: OpId) -> &Operator {
        &self.model.operators[id.0 as usize]
    }

    /// A tensor.
    pub fn tensor(&self, id: TensorId) -> &Tensor<'a> {
        &self.model.tensors[id.0 as usize]
    }

    /// Whether the tensor lives in the arena: not constant, not a variable, not empty.
    pub fn is_planned(&self, id: TensorId) -> bool {
        let t = self.tensor(id);
        t.data.is_none() && !t.is_variable && t.byte_size > 0
    }

    /// The operator that writes the tensor (`None` for model inputs and constants).
    pub fn producer(&self, id: TensorId) -> Option<OpId> {
        self.producer[id.0 as usize]
    }

    /// The operators that read the tensor, in file order.
    pub fn consumers(&self, id: TensorId) -> &[OpId] {
        &self.consumers[id.0 as usize]
    }

    /// Operators that must run before `op` (producers of its inputs), without duplicates.
    pub fn predecessors(&self, op: OpId) -> Vec<OpId> {
        let mut preds: Vec<OpId> = self
            .dag
            .neighbors_directed(NodeIndex::new(op.0 as usize), petgraph::Direction::Incoming)
            .map(|n| self.dag[n])
            .collect();
        preds.sort_unstable();
        preds.dedup();
        preds
    }

    /// Multiply-accumulates of an operator: convolution `out * kh * kw * cin`, depthwise `out * kh * kw`,
    /// fully connected `out * in_features`, pooling `out * kh * kw`, ADD/MUL one per output element, MEAN one
    /// per input element, everything else 0.
    pub fn macs(&self, op: OpId) -> u64 {
        self.macs[op.0 as usize]
    }

    /// Multiply-accumulates of the whole model.
    pub fn total_macs(&self) -> u64 {
        self.macs.iter().fold(0u64, |sum, &m| sum.saturating_add(m))
    }

    /// The operator order of the file (always a valid schedule: [`Graph::from_model`] checks it).
    pub fn default_schedule(&self) -> Vec<OpId> {
        (0..self.op_count() as u32).map(OpId).collect()
    }

    /// Whether `schedule` runs every operator exactly once, each after the producers of its inputs.
    pub fn is_valid_schedule(&self, schedule: &[OpId]) -> bool {
        if schedule.len() != self.op_count() {
            return false;
        }
        let mut position = vec![usize::MAX; self.op_count()];
        for (pos, op) in schedule.iter().enumerate() {
            match position.get_mut(op.0 as usize) {
                Some(p) if *p == usize::MAX => *p = pos,
                _ => return false,
            }
        }
        self.dag.edge_indices().all(|e| {
            let (from, to) = self.dag.edge_endpoints(e).expect("edge from the graph");
            position[from.index()] < position[to.index()]
        })
    }
}
