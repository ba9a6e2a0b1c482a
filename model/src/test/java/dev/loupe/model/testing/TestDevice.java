package dev.loupe.model.testing;

import dev.loupe.model.api.RuntimeOptions;

/**
 * The device the device-bound parity tests ({@link DeviceBoundVariant}) and the CUDA tests run on: the system property
 * {@code loupe.test.device} ({@code cpu}, the default and what CI runs, or {@code cuda} / {@code cuda:N} on a GPU
 * machine with ONNX Runtime's gpu build: docs/deployment.md, "GPU").
 */
public final class TestDevice {
    public static final String PROPERTY = "loupe.test.device";

    private TestDevice() {}

    /** The device spec the property names ({@code cpu} when unset). */
    public static String spec() {
        return System.getProperty(PROPERTY, "cpu");
    }

    /** Whether the tests were asked to run on a GPU. */
    public static boolean cuda() {
        return RuntimeOptions.parseDevice(spec()) == RuntimeOptions.Device.CUDA;
    }

    /** {@code options} on the device the property names. */
    public static RuntimeOptions apply(RuntimeOptions options) {
        return options.withDeviceSpec(spec());
    }
}
