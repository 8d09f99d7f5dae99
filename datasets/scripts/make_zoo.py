"""Build the arenaplan model zoo: Keras architectures with seeded random weights, converted to full-int8 TFLite.

Usage: python make_zoo.py OUT_DIR [NAME ...]   (all models when no name is given)

Random weights are enough: memory planning and latency do not depend on weight values, and bit-exactness is
checked against TFLM on the same file. BatchNorm statistics are calibrated on one random batch before
conversion so that the logits (and the softmax input scale) are not vanishingly small.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
import tensorflow as tf

keras = tf.keras
L = keras.layers
SEED = 20261125


def calibrate_batchnorm(model, shape):
    bns = [l for l in model.layers if isinstance(l, L.BatchNormalization)]
    if not bns:
        return
    for bn in bns:
        bn.momentum = 0.0
    rng = np.random.default_rng(SEED)
    x = rng.uniform(-1, 1, size=(8,) + tuple(shape)).astype(np.float32)
    model(x, training=True)


def convert(model, input_shapes, path):
    """Full-int8 conversion of a Keras model (one or more inputs) with a seeded representative dataset."""
    rng = np.random.default_rng(SEED + 1)

    def representative():
        for _ in range(20):
            yield [rng.uniform(-1, 1, size=(1,) + tuple(s)).astype(np.float32) for s in input_shapes]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    data = conv.convert()
    with open(path, "wb") as f:
        f.write(data)


def hard_sigmoid(x):
    return L.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)


def hard_swish(x):
    return L.Multiply()([x, hard_sigmoid(x)])


# ---- networks ---------------------------------------------------------------------------------------------


def mobilenet_v2(alpha, size, classes=1000):
    return keras.applications.MobileNetV2(alpha=alpha, input_shape=(size, size, 3), classes=classes, weights=None)


def mobilenet_v1_025_96():
    # A fixed batch of 1 keeps the final reshape static (no SHAPE/STRIDED_SLICE/PACK ops).
    inp = keras.Input((96, 96, 3), batch_size=1)
    return keras.applications.MobileNet(alpha=0.25, input_tensor=inp, classes=2, weights=None)


def resnet8_32():
    inp = keras.Input((32, 32, 3), batch_size=1)
    x = L.Conv2D(16, 3, padding="same", use_bias=False)(inp)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    for filters, stride in ((16, 1), (32, 2), (64, 2)):
        y = L.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
        y = L.BatchNormalization()(y)
        y = L.ReLU()(y)
        y = L.Conv2D(filters, 3, padding="same", use_bias=False)(y)
        y = L.BatchNormalization()(y)
        if stride != 1:
            x = L.Conv2D(filters, 1, strides=stride, padding="same")(x)
        x = L.ReLU()(L.Add()([x, y]))
    x = L.AveragePooling2D(pool_size=8)(x)
    x = L.Reshape((64,))(x)  # a static reshape (Flatten would add SHAPE/STRIDED_SLICE/PACK ops)
    x = L.Dense(10, activation="softmax")(x)
    return keras.Model(inp, x)


def ds_cnn_49x10():
    inp = keras.Input((49, 10, 1), batch_size=1)
    x = L.Conv2D(64, (10, 4), strides=(2, 2), padding="same", use_bias=False)(inp)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    for _ in range(4):
        x = L.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
        x = L.Conv2D(64, 1, use_bias=False)(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
    x = L.AveragePooling2D(pool_size=(25, 5))(x)
    x = L.Reshape((64,))(x)
    x = L.Dense(12, activation="softmax")(x)
    return keras.Model(inp, x)


def fc_autoencoder_640():
    inp = keras.Input((640,), batch_size=1)
    x = inp
    for units in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        x = L.Dense(units, activation="relu")(x)
    x = L.Dense(640)(x)
    return keras.Model(inp, x)


def fire(x, squeeze, expand):
    s = L.Conv2D(squeeze, 1, activation="relu")(x)
    e1 = L.Conv2D(expand, 1, activation="relu")(s)
    e3 = L.Conv2D(expand, 3, padding="same", activation="relu")(s)
    return L.Concatenate()([e1, e3])


def squeezenet_mini():
    inp = keras.Input((64, 64, 3), batch_size=1)
    x = L.Conv2D(32, 3, strides=2, padding="same", activation="relu")(inp)
    x = L.MaxPooling2D(3, strides=2, padding="same")(x)
    x = fire(x, 8, 32)
    x = fire(x, 8, 32)
    x = L.MaxPooling2D(3, strides=2, padding="same")(x)
    x = fire(x, 16, 48)
    x = fire(x, 16, 48)
    x = L.Conv2D(10, 1, activation="relu")(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Softmax()(x)
    return keras.Model(inp, x)


def se_block(x, channels):
    s = L.GlobalAveragePooling2D(keepdims=True)(x)
    s = L.Conv2D(max(8, channels // 4), 1, activation="relu")(s)
    s = L.Conv2D(channels, 1)(s)
    s = hard_sigmoid(s)
    return L.Multiply()([x, s])


def bneck(x, expand, out, kernel, stride, se, hs):
    inp = x
    cin = x.shape[-1]
    act = hard_swish if hs else (lambda t: L.ReLU()(t))
    x = L.Conv2D(expand, 1, use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = act(x)
    x = L.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = act(x)
    if se:
        x = se_block(x, expand)
    x = L.Conv2D(out, 1, use_bias=False)(x)
    x = L.BatchNormalization()(x)
    if stride == 1 and cin == out:
        x = L.Add()([inp, x])
    return x


def mobilenet_v3_mini():
    inp = keras.Input((64, 64, 3), batch_size=1)
    x = L.Conv2D(16, 3, strides=2, padding="same", use_bias=False)(inp)
    x = L.BatchNormalization()(x)
    x = hard_swish(x)
    x = bneck(x, 16, 16, 3, 2, True, False)
    x = bneck(x, 48, 24, 3, 2, False, False)
    x = bneck(x, 64, 24, 3, 1, False, False)
    x = bneck(x, 96, 40, 5, 2, True, True)
    x = bneck(x, 120, 40, 5, 1, True, True)
    x = L.Conv2D(160, 1, use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = hard_swish(x)
    x = L.GlobalAveragePooling2D(keepdims=True)(x)
    x = L.Conv2D(256, 1)(x)
    x = hard_swish(x)
    x = L.Conv2D(10, 1)(x)
    x = L.Reshape((10,))(x)
    x = L.Softmax()(x)
    return keras.Model(inp, x)


# ---- single-op models -------------------------------------------------------------------------------------


def single(input_shapes, body):
    # Names sort in input order, so the converter keeps the order of the representative samples.
    inputs = [keras.Input(s, batch_size=1, name=f"in{i}") for i, s in enumerate(input_shapes)]
    out = body(*inputs)
    return keras.Model(inputs, out)


SINGLE_OPS = {
    "op_conv_stride2_same": ([(9, 9, 3)], lambda x: L.Conv2D(5, 3, strides=2, padding="same")(x)),
    "op_conv_valid_13x11_k3x2": ([(13, 11, 4)], lambda x: L.Conv2D(6, (3, 2), padding="valid")(x)),
    "op_conv_dilation2": ([(12, 10, 3)], lambda x: L.Conv2D(4, 3, dilation_rate=2, padding="same")(x)),
    "op_conv_1x1_relu6": ([(7, 5, 8)], lambda x: L.Conv2D(12, 1, activation=keras.activations.relu6)(x)),
    "op_conv_relu": ([(8, 8, 3)], lambda x: L.Conv2D(8, 3, padding="same", activation="relu")(x)),
    "op_dwconv_3x3": ([(9, 7, 8)], lambda x: L.DepthwiseConv2D(3, padding="same")(x)),
    "op_dwconv_stride2": ([(11, 9, 6)], lambda x: L.DepthwiseConv2D(3, strides=2, padding="same")(x)),
    "op_dwconv_mult2": ([(7, 7, 4)], lambda x: L.DepthwiseConv2D(3, depth_multiplier=2, padding="valid")(x)),
    "op_fully_connected": ([(37,)], lambda x: L.Dense(19)(x)),
    "op_add_broadcast": ([(5, 7, 8), (1, 1, 8)], lambda a, b: a + b),
    "op_add_relu": ([(6, 5, 4), (6, 5, 4)], lambda a, b: L.ReLU()(L.Add()([a, b]))),
    "op_mul_broadcast": ([(5, 7, 8), (1, 1, 8)], lambda a, b: a * b),
    "op_avgpool_same": ([(9, 7, 5)], lambda x: L.AveragePooling2D(3, strides=2, padding="same")(x)),
    "op_avgpool_valid": ([(10, 8, 3)], lambda x: L.AveragePooling2D((3, 2), strides=(2, 2), padding="valid")(x)),
    "op_maxpool": ([(9, 9, 4)], lambda x: L.MaxPooling2D(3, strides=2, padding="same")(x)),
    "op_mean_hw": ([(7, 5, 6)], lambda x: L.GlobalAveragePooling2D(keepdims=True)(x)),
    "op_softmax": ([(23,)], lambda x: L.Softmax()(x * 4.0)),
    "op_logistic": ([(6, 5, 3)], lambda x: keras.activations.sigmoid(x * 3.0)),
    "op_hard_swish": ([(6, 5, 3)], lambda x: hard_swish(x * 3.0)),
    "op_reshape": ([(4, 6, 2)], lambda x: L.Reshape((8, 6))(x + 1.0)),
    "op_concat": ([(5, 4, 3), (5, 4, 2)], lambda a, b: L.Concatenate()([a * 3.0, b])),
    "op_pad": ([(5, 4, 3)], lambda x: L.ZeroPadding2D(((1, 2), (2, 1)))(x + 0.5)),
    # Layout and data-movement operators (issue 11, item 8).
    "op_transpose": ([(4, 6, 3)], lambda x: L.Permute((3, 1, 2))(x)),
    "op_transpose_3d": ([(5, 7)], lambda x: L.Permute((2, 1))(x)),
    # How PyTorch models arrive: an NCHW input transposed to NHWC, a convolution, and back to NCHW.
    "op_nchw_conv": ([(3, 10, 12)], lambda x: L.Permute((3, 1, 2))(
        L.Conv2D(6, 3, padding="same", activation="relu")(L.Permute((2, 3, 1))(x)))),
    "op_strided_slice": ([(9, 8, 6)], lambda x: x[:, 1:8:2, ::3, 2:]),
    "op_slice": ([(7, 6, 5)], lambda x: keras.ops.slice(x, (0, 2, 1, 1), (1, 4, 3, 3))),
    "op_split": ([(4, 5, 6)], lambda x: keras.ops.split(x, 3, axis=-1)),
    "op_resize_nearest": ([(5, 4, 3)], lambda x: keras.ops.image.resize(x, (10, 12), interpolation="nearest")),
    "op_split_v": ([(4, 5, 7)], lambda x: keras.ops.split(x, [2, 5], axis=-1)),
    "op_strided_slice_shrink": ([(6, 9, 4)], lambda x: x[:, 2, ::-2, 1:]),
    "op_resize_nearest_align": ([(5, 4, 3)], lambda x: L.Lambda(
        lambda t: tf.compat.v1.image.resize_nearest_neighbor(t, (9, 7), align_corners=True))(x)),
    "op_pack": ([(5, 6), (5, 6)], lambda a, b: keras.ops.stack([a, b], axis=2)),
    "op_unpack": ([(3, 5, 4)], lambda x: keras.ops.unstack(x, axis=1)),
    "op_resize_bilinear": ([(5, 4, 3)], lambda x: keras.ops.image.resize(x, (9, 11), interpolation="bilinear")),
    "op_resize_bilinear_align": ([(5, 4, 3)], lambda x: L.Lambda(
        lambda t: tf.compat.v1.image.resize_bilinear(t, (8, 10), align_corners=True))(x)),
    "op_transpose_conv": ([(5, 4, 3)], lambda x: L.Conv2DTranspose(4, 3, strides=2, padding="same")(x)),
    # Activations and elementwise operators.
    "op_relu": ([(6, 5, 4)], lambda x: L.ReLU()(x)),
    "op_relu6": ([(6, 5, 4)], lambda x: L.ReLU(6.0)(x)),
    "op_leaky_relu": ([(6, 5, 4)], lambda x: L.LeakyReLU(negative_slope=0.2)(x)),
    "op_tanh": ([(6, 5, 3)], lambda x: keras.activations.tanh(x * 3.0)),
    "op_prelu": ([(6, 5, 4)], lambda x: L.PReLU(
        alpha_initializer=keras.initializers.RandomUniform(-0.5, 0.5, seed=7), shared_axes=[1, 2])(x)),
    "op_sub_broadcast": ([(5, 7, 8), (1, 1, 8)], lambda a, b: a - b),
    "op_maximum": ([(5, 6, 4), (5, 6, 4)], lambda a, b: L.Maximum()([a, b])),
    "op_minimum": ([(5, 6, 4), (5, 6, 4)], lambda a, b: L.Minimum()([a, b])),
}

NETWORKS = {
    "mobilenet_v2_030_80_1000": (lambda: mobilenet_v2(0.30, 80), [(80, 80, 3)]),
    "mobilenet_v2_035_96": (lambda: mobilenet_v2(0.35, 96), [(96, 96, 3)]),
    "mobilenet_v1_025_96": (mobilenet_v1_025_96, [(96, 96, 3)]),
    "resnet8_32": (resnet8_32, [(32, 32, 3)]),
    "ds_cnn_49x10": (ds_cnn_49x10, [(49, 10, 1)]),
    "fc_autoencoder_640": (fc_autoencoder_640, [(640,)]),
    "squeezenet_mini": (squeezenet_mini, [(64, 64, 3)]),
    "mobilenet_v3_mini": (mobilenet_v3_mini, [(64, 64, 3)]),
}


def build(name):
    keras.utils.set_random_seed(SEED)
    if name in NETWORKS:
        make, shapes = NETWORKS[name]
        model = make()
    else:
        shapes, body = SINGLE_OPS[name]
        model = single(shapes, body)
    calibrate_batchnorm(model, shapes[0])
    return model, shapes


def main():
    out = sys.argv[1]
    names = sys.argv[2:] or list(NETWORKS) + list(SINGLE_OPS)
    os.makedirs(out, exist_ok=True)
    failed = []
    for name in names:
        try:
            model, shapes = build(name)
            convert(model, shapes, os.path.join(out, name + ".tflite"))
            print(f"built {name}", flush=True)
        except Exception as e:  # report and go on: one odd op must not stop the zoo
            print(f"FAILED {name}: {e}", flush=True)
            failed.append(name)
    if failed:
        print("failed:", ", ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
