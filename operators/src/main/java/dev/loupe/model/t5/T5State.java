package dev.loupe.model.t5;

/**
 * What a batch of T5 decoder rows carries between steps, as flat float32 arrays [batch, heads, length, d_kv] per
 * layer: the cross-attention keys/values and encoder mask (fixed for a request) and the self-attention cache
 * (grows by the decoded positions). Rows can be gathered, e.g. to drop finished rows or follow beams.
 */
public record T5State(int batch, int encoderLength, long[] encoderMask, float[][] crossKeys, float[][] crossValues,
                      int pastLength, float[][] pastKeys, float[][] pastValues) {

    /** The state of the rows {@code rows} (indices may repeat), in that order. */
    public T5State selectRows(int[] rows) {
        long[] mask = new long[rows.length * encoderLength];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(encoderMask, rows[i] * encoderLength, mask, i * encoderLength, encoderLength);
        }
        return new T5State(rows.length, encoderLength, mask, gather(crossKeys, rows), gather(crossValues, rows),
                pastLength, gather(pastKeys, rows), gather(pastValues, rows));
    }

    /** This state with a new self-attention cache. */
    T5State withPast(int length, float[][] keys, float[][] values) {
        return new T5State(batch, encoderLength, encoderMask, crossKeys, crossValues, length, keys, values);
    }

    private float[][] gather(float[][] perLayer, int[] rows) {
        float[][] out = new float[perLayer.length][];
        for (int l = 0; l < perLayer.length; l++) {
            int per = perLayer[l].length / batch;
            out[l] = new float[rows.length * per];
            for (int i = 0; i < rows.length; i++) {
                System.arraycopy(perLayer[l], rows[i] * per, out[l], i * per, per);
            }
        }
        return out;
    }
}
