package dev.loupe.model.onnx;

import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_ENABLE_ALL;
import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_LOGGING_LEVEL_WARNING;
import static org.bytedeco.onnxruntime.global.onnxruntime.OrtArenaAllocator;
import static org.bytedeco.onnxruntime.global.onnxruntime.OrtMemTypeDefault;

import dev.loupe.model.api.RuntimeOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.onnxruntime.Env;
import org.bytedeco.onnxruntime.MemoryInfo;
import org.bytedeco.onnxruntime.CUDAProviderOptions;
import org.bytedeco.onnxruntime.Session;
import org.bytedeco.onnxruntime.SessionOptions;
import org.bytedeco.onnxruntime.StringStringMap;
import org.bytedeco.onnxruntime.Value;

/**
 * Sessions through ONNX Runtime's C++ API (JavaCPP's preset), which has what the Java API lacks: {@code IoBinding}
 * and tensors in an execution provider's memory. Created as {@link OrtSessions} creates its sessions: full graph
 * optimisation, the process's one shared intra-op pool (per-session threads disabled) or, where there is none,
 * per-session threads without spinning, and the CUDA provider on {@link RuntimeOptions#deviceIndex()} when asked.
 *
 * <p><b>One ONNX Runtime in the process.</b> The preset's JNI library needs {@code libonnxruntime.so.1}; when the Java
 * API has loaded its copy first (the same release, 1.28.0), the dynamic linker binds the preset to that copy, so
 * both APIs share one environment and one thread pool. {@link #environment} therefore creates the Java API's
 * environment first ({@link OrtSessions#environment(RuntimeOptions)}, which fixes the pool) and then takes the same
 * environment through the C++ API.
 */
public final class BoundSessions {
    private static Env env;

    private BoundSessions() {}

    /** The process's environment as the C++ API sees it (the one {@link OrtSessions} created). */
    public static synchronized Env environment(RuntimeOptions options) {
        OrtSessions.environment(options);
        if (env == null) {
            try {
                env = new Env(ORT_LOGGING_LEVEL_WARNING, "loupe");
            } catch (RuntimeException | UnsatisfiedLinkError e) {
                throw new IllegalStateException("cannot load ONNX Runtime through JavaCPP (org.bytedeco:onnxruntime "
                        + "1.28.0-1.5.14 and its natives must be on the class path): " + e.getMessage(), e);
            }
        }
        return env;
    }

    /** A session over {@code model}, set up as {@link OrtSessions#open(Path, RuntimeOptions)} sets up its own. */
    public static Session open(Path model, RuntimeOptions options) throws IOException {
        if (!Files.isRegularFile(model)) {
            throw new IOException("ONNX graph not found: " + model);
        }
        Env e = environment(options);
        try (SessionOptions so = new SessionOptions()) {
            so.SetGraphOptimizationLevel(ORT_ENABLE_ALL);
            if (OrtSessions.sharedPool()) {
                so.DisablePerSessionThreads();
            } else {
                if (options.intraOpThreads() > 0) {
                    so.SetIntraOpNumThreads(options.intraOpThreads());
                }
                so.SetInterOpNumThreads(1);
                so.AddConfigEntry("session.intra_op.allow_spinning", "0");
                so.AddConfigEntry("session.inter_op.allow_spinning", "0");
            }
            if (options.device() == RuntimeOptions.Device.CUDA) {
                appendCuda(so, options.deviceIndex());
            }
            return new Session(e, new BytePointer(model.toString()), so);
        } catch (RuntimeException ex) {
            throw new IOException("cannot load ONNX graph " + model + " through the C++ API: " + ex.getMessage(), ex);
        }
    }

    /**
     * The CUDA execution provider on {@code deviceIndex}, through the provider's V2 options: TF32 off, so float32
     * graphs (the parity path) multiply in float32 on GPUs with tensor cores, as transformers does by default
     * ({@code torch.backends.cuda.matmul.allow_tf32 = False}); fp16-compute packages are unaffected.
     */
    private static void appendCuda(SessionOptions so, int deviceIndex) throws IOException {
        try {
            CUDAProviderOptions cuda = new CUDAProviderOptions();
            StringStringMap settings = new StringStringMap();
            settings.put(new BytePointer("device_id"), String.valueOf(deviceIndex));
            settings.put(new BytePointer("use_tf32"), "0");
            cuda.Update(settings);
            so.AppendExecutionProvider_CUDA_V2(cuda.asOrtCUDAProviderOptionsV2());
        } catch (RuntimeException | UnsatisfiedLinkError ex) {
            throw new IOException("cannot start the CUDA execution provider on device " + deviceIndex
                    + " (needs ONNX Runtime's gpu build, mvn -Pgpu, with the CUDA, cuBLAS and cuDNN libraries it was "
                    + "built for on the library path, and a visible GPU: docs/deployment.md, \"GPU\"): "
                    + ex.getMessage(), ex);
        }
    }

    /**
     * Where the device-resident tensors of {@code options}' device live: CPU memory on CPU, the GPU's memory on CUDA
     * (the memory whose allocator the sessions on that device own).
     */
    public static MemoryInfo deviceMemory(RuntimeOptions options) {
        return options.device() == RuntimeOptions.Device.CUDA
                ? new MemoryInfo("Cuda", OrtArenaAllocator, options.deviceIndex(), OrtMemTypeDefault)
                : MemoryInfo.CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    }

    /**
     * A tensor of ONNX element type {@code type} over {@code bytes} bytes of {@code base} from byte {@code offset}, in
     * {@code mem} (host or device memory): it owns nothing, the memory must outlive it.
     */
    public static Value tensor(MemoryInfo mem, Pointer base, long offset, long bytes, int type, long... shape) {
        BytePointer at = new BytePointer(base);
        at.position(offset).capacity(offset + bytes).limit(offset + bytes);
        return Value.CreateTensor(mem.asOrtMemoryInfo(), at, bytes, shape, shape.length, type);
    }

    /** Host memory: what Java reads and writes. */
    public static MemoryInfo hostMemory() {
        return MemoryInfo.CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    }
}
