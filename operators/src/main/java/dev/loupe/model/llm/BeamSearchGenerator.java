package dev.loupe.model.llm;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.GenerationConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Batched beam search (and beam sampling) over {@link LanguageModelRunner}: every request's beams are rows of one
 * decoder batch; each request is scored by its own {@link BeamSearchScorer}, and the KV cache is gathered by the
 * chosen beams after every step. The prompt is run once per request and its cache copied to the beams (they
 * start identical). A request whose search is done leaves the batch. A request's beams never depend on its
 * batch mates.
 */
final class BeamSearchGenerator {
    private final LanguageModelRunner runner;
    private final long padTokenId;

    BeamSearchGenerator(LanguageModelRunner runner, long padTokenId) {
        this.runner = runner;
        this.padTokenId = padTokenId;
    }

    /** Per request, its best {@code numReturnSequences} hypotheses, best first. */
    List<List<GeneratedSequence>> generate(List<float[][]> prefixes, List<int[]> contextIds, GenerationConfig config,
                                           long[] seeds, int[] eos) throws OrtException {
        int requests = prefixes.size();
        int beams = config.numBeams();
        int vocab = runner.config().vocabSize();
        PaddedPrefill prefill = PaddedPrefill.build(prefixes, runner.embed(new long[] {padTokenId}, 1, 1),
                runner.config().hiddenSize());
        BeamSearchScorer[] scorers = new BeamSearchScorer[requests];
        for (int r = 0; r < requests; r++) {
            scorers[r] = new BeamSearchScorer(config, vocab, eos, contextIds.get(r), new SplittableRandom(seeds[r]));
        }

        int[] live = new int[requests]; // requests in the batch, in slot-block order
        for (int r = 0; r < requests; r++) {
            live[r] = r;
        }
        int rowsPerRequest = 1; // the prefill holds one row per request
        KvCache cache = KvCache.empty(runner.environment(), runner.config(), requests);
        try {
            LanguageModelRunner.DecoderOutput out = runner.decode(prefill.embeds(), requests, prefill.length(),
                    prefill.mask(), prefill.positions(), cache);
            for (int generated = 1; ; generated++) {
                cache.close();
                cache = out.present();
                BeamSearchScorer.Advance step = BeamSearchScorer.advance(scorers, live, beams, rowsPerRequest, out::lastLogits);
                List<Integer> stillLive = step.live();
                List<int[]> selected = step.slots();
                List<int[]> nextTokens = step.tokens();
                if (stillLive.isEmpty()) {
                    break;
                }
                int rows = stillLive.size() * beams;
                int[] gather = new int[rows];
                int[] rowOfSlot = new int[rows];
                long[] ids = new long[rows];
                for (int i = 0; i < stillLive.size(); i++) {
                    for (int b = 0; b < beams; b++) {
                        gather[i * beams + b] = selected.get(i)[b];
                        rowOfSlot[i * beams + b] = stillLive.get(i);
                        ids[i * beams + b] = nextTokens.get(i)[b];
                    }
                }
                if (!isIdentity(gather, cache.batch())) {
                    KvCache reordered = cache.selectRows(runner.environment(), gather);
                    cache.close();
                    cache = reordered;
                }
                live = stillLive.stream().mapToInt(Integer::intValue).toArray();
                rowsPerRequest = beams;
                out = runner.decode(runner.embed(ids, rows, 1), rows, 1, prefill.mask(rowOfSlot, generated),
                        prefill.positions(rowOfSlot, generated), cache);
            }
        } finally {
            cache.close();
        }
        List<List<GeneratedSequence>> results = new ArrayList<>(requests);
        for (BeamSearchScorer s : scorers) {
            results.add(s.results(config.numReturnSequences()));
        }
        return results;
    }

    /** Whether gathering {@code rows} from a cache of {@code batch} rows would give the same cache back. */
    static boolean isIdentity(int[] rows, int batch) {
        if (rows.length != batch) {
            return false;
        }
        for (int i = 0; i < rows.length; i++) {
            if (rows[i] != i) {
                return false;
            }
        }
        return true;
    }
}
