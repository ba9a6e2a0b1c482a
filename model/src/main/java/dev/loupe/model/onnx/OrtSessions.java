package dev.loupe.model.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import dev.loupe.model.api.RuntimeOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Creates ONNX Runtime sessions the same way everywhere: full graph optimisation, the configured thread count,
 * and the CUDA execution provider on {@link RuntimeOptions#deviceIndex()} when asked for (which needs the
 * onnxruntime_gpu build: {@code mvn -Pgpu}, CUDA 12 and cuDNN 9 on the host).
 */
public final class OrtSessions {
    private OrtSessions() {}

    public static OrtSession open(Path model, RuntimeOptions options) throws IOException {
        if (!Files.isRegularFile(model)) {
            throw new IOException("ONNX graph not found: " + model);
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            if (options.intraOpThreads() > 0) {
                so.setIntraOpNumThreads(options.intraOpThreads());
            }
            so.setInterOpNumThreads(1);
            if (options.device() == RuntimeOptions.Device.CUDA) {
                if (!cudaAvailable()) {
                    throw new IOException("CUDA was requested but this build has no CUDA execution provider "
                            + "(build with: mvn -Pgpu package; needs CUDA 12 and cuDNN 9)");
                }
                try {
                    so.addCUDA(options.deviceIndex());
                } catch (OrtException | UnsatisfiedLinkError e) {
                    throw new IOException("cannot start the CUDA execution provider on device "
                            + options.deviceIndex() + " (needs CUDA 12 and cuDNN 9 libraries on the library path "
                            + "and a visible GPU): " + e.getMessage(), e);
                }
            }
            return env.createSession(model.toString(), so);
        } catch (OrtException e) {
            throw new IOException("cannot load ONNX graph " + model + ": " + e.getMessage(), e);
        }
    }

    /**
     * Whether this ONNX Runtime build has the CUDA execution provider (onnxruntime_gpu). A GPU and its libraries
     * are still needed to start it.
     */
    public static boolean cudaAvailable() {
        try {
            return OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA);
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            return false;
        }
    }
}
