package dev.loupe.cli;

import dev.loupe.model.Models;
import dev.loupe.model.llm.DecoderGraphKind;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.pkg.Manifest;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code loupe convert}: a Hugging Face checkpoint directory to a model package (ONNX graphs built in Java). */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Convert a Hugging Face checkpoint into a Loupe model package.")
public final class ConvertCommand implements Callable<Integer> {

    @Option(names = "--checkpoint", required = true, description = "Hugging Face checkpoint directory.")
    Path checkpoint;

    @Option(names = "--out", required = true, description = "Package directory to create.")
    Path out;

    @Option(names = "--dtype", defaultValue = "fp32", description = "fp32 (default); fp16: weights stored as float16 (half the package size; "
                    + "computation stays float32); fp16-compute: float16 weights, activations and KV cache, for CUDA "
                    + "(float32 norm statistics and log-softmax; InstructBLIP/BLIP-2 with LLaMA and LLaVA); int8: weight matrices quantized to 8 bits, multiplied in int8 "
                    + "(about a quarter of the size, faster on CPU; see docs/models.md); int4: 4-bit decoder weights.")
    String dtype;

    @Option(names = "--decoder", defaultValue = "fused", description = "Language-model graphs: fused (default; ONNX "
                    + "Runtime's fused kernels: for LLaMA and OPT GroupQueryAttention with a KV cache written in "
                    + "place, for Flan-T5 MultiHeadAttention and fused RMS norms in encoder and decoder; see "
                    + "docs/models.md) or plain (plain ONNX operators, the graphs of packages written before; for "
                    + "comparisons).")
    String decoder;

    @Override
    public Integer call() throws Exception {
        Precision precision;
        try {
            precision = Precision.parse(dtype);
        } catch (IllegalArgumentException e) {
            System.err.println("loupe convert: --dtype must be fp32, fp16, fp16-compute, int8 or int4, got '" + dtype + "'");
            return 2;
        }
        DecoderGraphKind decoderKind;
        try {
            decoderKind = DecoderGraphKind.parse(decoder);
        } catch (IllegalArgumentException e) {
            System.err.println("loupe convert: --decoder must be fused or plain, got '" + decoder + "'");
            return 2;
        }
        long start = System.nanoTime();
        Manifest m = Models.convert(checkpoint, out, precision, decoderKind);
        System.err.printf("loupe convert: wrote %s package %s (%s) in %.1f s%n", m.family(), out, m.dtype(),
                (System.nanoTime() - start) / 1e9);
        return 0;
    }
}
