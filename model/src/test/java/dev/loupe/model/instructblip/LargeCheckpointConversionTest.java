package dev.loupe.model.instructblip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.loupe.model.checkpoint.DType;
import dev.loupe.model.pkg.Manifest;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Conversion is memory-bounded: a 2.5 GB float16 checkpoint with the real 7B widths (5 LLaMA layers) converts to a
 * 5 GB float32 package in a separate JVM limited to a 256 MB heap. The weights stream from the mapped checkpoint
 * through small buffers (the decoder's 4.6 GB go to external data, the 0.5 GB embedding inline).
 */
@Tag("slow")
class LargeCheckpointConversionTest {
    private static final int LLM_LAYERS = 5;
    private static final long HEAP = 256L << 20;

    @Test
    void multiGigabyteCheckpointConvertsWithA256MbHeap(@TempDir Path tmp) throws Exception {
        assumeTrue(Files.getFileStore(tmp).getUsableSpace() > 12L << 30, "needs 12 GB of free disk");
        Path ckpt = tmp.resolve("checkpoint");
        Path pkg = tmp.resolve("package");
        try {
            long start = System.nanoTime();
            long bytes = InstructBlip7bCheckpoint.write(ckpt, 1, 2, LLM_LAYERS, DType.F16, 2_000_000_000L);
            System.out.printf("wrote %.2f GB F16 checkpoint in %.1f s%n", bytes / 1e9, (System.nanoTime() - start) / 1e9);
            assertThat(bytes).isGreaterThan(2_400_000_000L);

            Path java = Path.of(System.getProperty("java.home"), "bin", "java");
            ProcessBuilder pb = new ProcessBuilder(java.toString(), "-Xmx" + (HEAP >> 20) + "m",
                    ConvertInSmallHeap.class.getName(), ckpt.toString(), pkg.toString(), "fp32");
            // the classpath goes through the environment: ONNX Runtime crashes on very long JVM command lines
            pb.environment().put("CLASSPATH", System.getProperty("java.class.path"));
            pb.redirectErrorStream(true);
            Path log = tmp.resolve("convert.log");
            pb.redirectOutput(log.toFile());
            Process p = pb.start();
            boolean done = p.waitFor(15, TimeUnit.MINUTES);
            if (!done) {
                p.destroyForcibly();
            }
            String output = Files.readString(log, StandardCharsets.UTF_8);
            System.out.print(output);
            assertThat(done).as("conversion finished").isTrue();
            assertThat(p.exitValue()).as(output).isZero();
            long peak = output.lines().filter(l -> l.startsWith("PEAK_HEAP=")).mapToLong(l -> Long.parseLong(l.substring(10)))
                    .findFirst().orElseThrow();
            assertThat(peak).isLessThanOrEqualTo(HEAP);

            Manifest m = Manifest.read(pkg);
            assertThat(m.dtype()).isEqualTo("fp32");
            Path decoder = m.graph(pkg, InstructBlipPackage.GRAPH_DECODER);
            long layer = 4L * InstructBlip7bCheckpoint.LLM * InstructBlip7bCheckpoint.LLM
                    + 3L * InstructBlip7bCheckpoint.LLM * InstructBlip7bCheckpoint.LLM_MLP;
            // the fused decoder also stores its rotary cos and sin tables, [max positions, head_dim / 2] each
            long rotaryTables = 2L * InstructBlip7bCheckpoint.LLM_POSITIONS * (InstructBlip7bCheckpoint.LLM_HEAD_DIM / 2);
            long decoderWeights = 4 * (LLM_LAYERS * layer
                    + (long) InstructBlip7bCheckpoint.VOCAB * InstructBlip7bCheckpoint.LLM + rotaryTables);
            Path data = decoder.resolveSibling(decoder.getFileName() + ".data");
            assertThat(Files.size(data)).isGreaterThanOrEqualTo(decoderWeights).isLessThan(decoderWeights + (1 << 20));
            ModelProto model;
            try (InputStream in = Files.newInputStream(decoder)) {
                model = ModelProto.parseFrom(in);
            }
            TensorProto head = model.getGraph().getInitializerList().stream()
                    .filter(t -> t.getName().equals("lm_head")).findFirst().orElseThrow();
            assertThat(head.getDataLocation()).isEqualTo(TensorProto.DataLocation.EXTERNAL);
            assertThat(head.getDimsList()).containsExactly((long) InstructBlip7bCheckpoint.LLM,
                    (long) InstructBlip7bCheckpoint.VOCAB);
            Path embed = m.graph(pkg, InstructBlipPackage.GRAPH_EMBED);
            assertThat(Files.exists(embed.resolveSibling(embed.getFileName() + ".data"))).isFalse();
            assertThat(Files.size(embed)).isGreaterThan(4L * InstructBlip7bCheckpoint.VOCAB * InstructBlip7bCheckpoint.LLM);
            try (Stream<Path> s = Files.list(pkg)) {
                for (Path f : s.filter(f -> f.getFileName().toString().contains(".onnx")).sorted().toList()) {
                    System.out.printf("  %-22s %,d bytes%n", f.getFileName(), Files.size(f));
                }
            }
        } finally {
            dev.loupe.model.files.FileTrees.deleteRecursively(ckpt);
            dev.loupe.model.files.FileTrees.deleteRecursively(pkg);
        }
    }
}
