package dev.loupe.model.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class RuntimeOptionsTest {

    @Test
    void deviceSpecsNameTheDeviceAndItsIndex() {
        RuntimeOptions base = new RuntimeOptions(RuntimeOptions.Device.CPU, 2, "/tmp/c");
        assertThat(base.deviceIndex()).isZero();
        assertThat(base.withDeviceSpec("cuda")).isEqualTo(new RuntimeOptions(RuntimeOptions.Device.CUDA, 2, "/tmp/c", 0));
        assertThat(base.withDeviceSpec("CUDA:3").deviceIndex()).isEqualTo(3);
        assertThat(base.withDeviceSpec("cuda:3").device()).isEqualTo(RuntimeOptions.Device.CUDA);
        assertThat(base.withDeviceIndex(1).withThreads(4).withDevice(RuntimeOptions.Device.CUDA))
                .isEqualTo(new RuntimeOptions(RuntimeOptions.Device.CUDA, 4, "/tmp/c", 1));
        assertThatThrownBy(() -> base.withDeviceSpec("tpu")).hasMessageContaining("unknown device 'tpu'");
        assertThatThrownBy(() -> base.withDeviceSpec("cuda:x")).hasMessageContaining("bad device index");
        assertThatThrownBy(() -> base.withDeviceIndex(-1)).hasMessageContaining("deviceIndex");
    }
}
