package dev.loupe.model.llm;

/**
 * The part of a {@link DecodingState} that every model shares: the logits of the last decoder run and the
 * self-attention cache it returned, which {@link #takeCache()} hands to the next step.
 */
public abstract class OutputState implements DecodingState {
    private final LanguageModelRunner.DecoderOutput out;
    private KvCache cache;

    protected OutputState(LanguageModelRunner.DecoderOutput out) {
        this.out = out;
        this.cache = out.present();
    }

    @Override
    public int rows() {
        return out.batch();
    }

    @Override
    public int positions() {
        return out.positions();
    }

    @Override
    public boolean hasLogits() {
        return out.hasLogits();
    }

    @Override
    public int choiceCount() {
        return out.choices();
    }

    @Override
    public void lastChoices(int row, int[] ids, float[] logProbs) {
        out.lastChoices(row, ids, logProbs);
    }

    @Override
    public float[] logits(int row, int position) {
        return out.logits(row, position);
    }

    @Override
    public float[] lastLogits(int row) {
        return out.lastLogits(row);
    }

    @Override
    public void lastLogits(int row, float[] into) {
        out.lastLogits(row, into);
    }

    /** The cache, now the caller's; this state is used up. */
    protected KvCache takeCache() {
        if (cache == null) {
            throw new IllegalStateException("decoding state already used");
        }
        KvCache taken = cache;
        cache = null;
        return taken;
    }

    @Override
    public void close() {
        if (cache != null) {
            cache.close();
            cache = null;
        }
    }
}
