package dev.loupe.model.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.loupe.model.api.RuntimeOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Creates ONNX Runtime sessions the same way everywhere: full graph optimisation, the configured thread count,
 * and the CUDA execution provider when asked for (which needs the onnxruntime_gpu build: {@code mvn -Pgpu}).
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
                try {
                    so.addCUDA(Integer.getInteger("loupe.cuda.device", 0));
                } catch (OrtException | UnsatisfiedLinkError e) {
                    throw new IOException("CUDA was requested but this build has no CUDA execution provider "
                            + "(build with: mvn -Pgpu package; needs CUDA 12 and cuDNN 9): " + e.getMessage(), e);
                }
            }
            return env.createSession(model.toString(), so);
        } catch (OrtException e) {
            throw new IOException("cannot load ONNX graph " + model + ": " + e.getMessage(), e);
        }
    }
}
