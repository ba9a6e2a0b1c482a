package dev.loupe.model.tools;

import dev.loupe.model.Models;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.Task;
import dev.loupe.model.instructblip.ImageEncoder;
import dev.loupe.model.instructblip.InstructBlipConfig;
import dev.loupe.model.instructblip.InstructBlipPackage;
import dev.loupe.model.llm.CandidateScorer;
import dev.loupe.model.llm.DecoderGraphs;
import dev.loupe.model.llm.LanguageModelRunner;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.text.EncodedPrompt;
import dev.loupe.model.text.InstructBlipPromptEncoder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * How closely a candidate model package (e.g. int8) follows a reference package of the same checkpoint (fp32), on
 * the same images and prompt: the cosine similarity of the vision encoder's features and of the language-model
 * inputs the Q-Former produces (per token), the number of greedy captions that are identical, and, teacher-forced on
 * the reference's greedy continuation, the mean and largest |log-prob difference| per generated token (natural log;
 * each package scores the same tokens after its own image prefix). For Q-Former packages with a decoder-only
 * language model (InstructBLIP-Vicuna, BLIP-2 OPT).
 */
public final class PackageFidelity {

    /**
     * The comparison's figures; cosines are over the per-token feature vectors of every image; leadingAgreement is
     * the mean fraction of each reference caption's tokens that the candidate's greedy caption repeats before the
     * first difference.
     */
    public record Report(String referenceDtype, String candidateDtype, int images, int tokens,
                         double meanAbsLogProbDiff, double maxAbsLogProbDiff, int identicalCaptions,
                         double leadingAgreement,
                         double visionCosineMean, double visionCosineMin,
                         double prefixCosineMean, double prefixCosineMin) {}

    private PackageFidelity() {}

    public static Report compare(Path reference, Path candidate, List<ImageTensor> images, String prompt,
                                 int maxNewTokens, RuntimeOptions runtime) throws IOException {
        Manifest refManifest = Manifest.read(reference);
        Manifest candManifest = Manifest.read(candidate);
        for (Manifest m : List.of(refManifest, candManifest)) {
            if (!InstructBlipPackage.FAMILY.equals(m.family())
                    && !InstructBlipPackage.FAMILY_BLIP2_OPT.equals(m.family())) {
                throw new IllegalArgumentException("the fidelity report compares InstructBLIP-LLaMA or BLIP-2 OPT "
                        + "packages, not " + m.family());
            }
        }
        GenerationConfig greedy = GenerationConfig.greedy(maxNewTokens);
        List<int[]> refIds = greedyIds(reference, images, prompt, greedy, runtime);
        List<int[]> candIds = greedyIds(candidate, images, prompt, greedy, runtime);
        int identical = 0;
        double leading = 0;
        for (int i = 0; i < images.size(); i++) {
            int[] a = refIds.get(i);
            int[] b = candIds.get(i);
            identical += Arrays.equals(a, b) ? 1 : 0;
            int common = 0;
            while (common < a.length && common < b.length && a[common] == b[common]) {
                common++;
            }
            leading += a.length == 0 ? 1 : (double) common / a.length;
        }
        Side ref = side(reference, refManifest, images, prompt, maxNewTokens, refIds, runtime);
        Side cand = side(candidate, candManifest, images, prompt, maxNewTokens, refIds, runtime);
        double sum = 0;
        double max = 0;
        int tokens = 0;
        for (int i = 0; i < images.size(); i++) {
            float[] a = ref.tokenLogProbs.get(i);
            float[] b = cand.tokenLogProbs.get(i);
            for (int t = 0; t < a.length; t++) {
                double d = Math.abs(a[t] - b[t]);
                sum += d;
                max = Math.max(max, d);
                tokens++;
            }
        }
        Cosines vision = cosines(ref.visionFeatures, cand.visionFeatures, ref.visionWidth);
        Cosines prefix = cosines(ref.prefixFeatures, cand.prefixFeatures, ref.prefixWidth);
        return new Report(refManifest.dtype(), candManifest.dtype(), images.size(), tokens,
                tokens == 0 ? 0 : sum / tokens, max, identical, leading / images.size(), vision.mean, vision.min, prefix.mean, prefix.min);
    }

    private static List<int[]> greedyIds(Path pkg, List<ImageTensor> images, String prompt, GenerationConfig greedy,
                                         RuntimeOptions runtime) throws IOException {
        AnnotatorFactory factory = Models.open(pkg, runtime);
        List<AnnotationInput> inputs = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            inputs.add(new AnnotationInput("fidelity-" + i, images.get(i), prompt, Task.CAPTION, List.of(), greedy));
        }
        List<int[]> ids = new ArrayList<>();
        try (BatchAnnotator annotator = factory.createAnnotator()) {
            for (AnnotationOutcome o : annotator.annotate(inputs)) {
                if (!o.isSuccess()) {
                    throw new IOException(pkg + ": generation failed: " + o.errorCode() + ": " + o.errorMessage());
                }
                ids.add(o.annotation().tokenIds());
            }
        }
        return ids;
    }

    /** One package's features and teacher-forced log-probs of the reference continuation. */
    private record Side(float[][] visionFeatures, int visionWidth, float[][] prefixFeatures, int prefixWidth,
                        List<float[]> tokenLogProbs) {}

    private static Side side(Path pkg, Manifest m, List<ImageTensor> images, String prompt, int maxNewTokens,
                             List<int[]> continuations, RuntimeOptions runtime) throws IOException {
        InstructBlipConfig config = InstructBlipConfig.load(pkg);
        try (InstructBlipPromptEncoder prompts = InstructBlipPromptEncoder.fromCheckpoint(pkg);
             ImageEncoder encoder = ImageEncoder.open(m.graph(pkg, InstructBlipPackage.GRAPH_VISION),
                     m.graph(pkg, InstructBlipPackage.GRAPH_QFORMER), config, runtime);
             LanguageModelRunner lm = LanguageModelRunner.open(m.graph(pkg, InstructBlipPackage.GRAPH_EMBED),
                     m.graph(pkg, InstructBlipPackage.GRAPH_DECODER), DecoderGraphs.config(config.textConfig()),
                     runtime)) {
            EncodedPrompt encoded = prompts.encode(prompt, maxNewTokens);
            long[] qformerIds = Arrays.stream(encoded.qformerIds()).asLongStream().toArray();
            long[] textIds = Arrays.stream(encoded.textIds()).asLongStream().toArray();
            float[][] vision = new float[images.size()][];
            float[][] prefix = new float[images.size()][];
            List<float[]> logProbs = new ArrayList<>();
            CandidateScorer scorer = new CandidateScorer(lm);
            int hidden = lm.config().hiddenSize();
            float[] text = lm.embed(textIds, 1, textIds.length);
            for (int i = 0; i < images.size(); i++) {
                ImageEncoder.Encoded e = encoder.encodeWithIntermediates(List.of(images.get(i)),
                        new long[][] {qformerIds});
                vision[i] = e.imageEmbeds()[0];
                prefix[i] = e.languageInputs()[0];
                int queries = prefix[i].length / hidden;
                float[][] input = new float[queries + textIds.length][hidden];
                for (int t = 0; t < queries; t++) {
                    System.arraycopy(prefix[i], t * hidden, input[t], 0, hidden);
                }
                for (int t = 0; t < textIds.length; t++) {
                    System.arraycopy(text, t * hidden, input[queries + t], 0, hidden);
                }
                int[] continuation = continuations.get(i);
                logProbs.add(continuation.length == 0 ? new float[0]
                        : scorer.score(input, List.of(continuation)).get(0).tokenLogProbs());
            }
            return new Side(vision, config.vision().hiddenSize(), prefix, hidden, logProbs);
        } catch (AnnotationException | ai.onnxruntime.OrtException e) {
            throw new IOException(pkg + ": " + e.getMessage(), e);
        }
    }

    private record Cosines(double mean, double min) {}

    /** Cosine similarity of each width-long token vector of a against the same one of b. */
    private static Cosines cosines(float[][] a, float[][] b, int width) {
        double sum = 0;
        double min = 1;
        int count = 0;
        for (int i = 0; i < a.length; i++) {
            for (int off = 0; off + width <= a[i].length; off += width) {
                double dot = 0;
                double na = 0;
                double nb = 0;
                for (int j = off; j < off + width; j++) {
                    dot += (double) a[i][j] * b[i][j];
                    na += (double) a[i][j] * a[i][j];
                    nb += (double) b[i][j] * b[i][j];
                }
                double c = na == 0 || nb == 0 ? (na == nb ? 1 : 0) : dot / Math.sqrt(na * nb);
                sum += c;
                min = Math.min(min, c);
                count++;
            }
        }
        return new Cosines(count == 0 ? 1 : sum / count, min);
    }
}
