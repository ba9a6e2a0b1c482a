package dev.loupe.flink.failure;

import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/** Splits {@link Fallible} values: successes continue downstream, failures go to {@link Failures#TAG}. */
public final class FailureSplitter<T> extends ProcessFunction<Fallible<T>, T> {
    @Override
    public void processElement(Fallible<T> in, Context ctx, Collector<T> out) {
        if (in.isSuccess()) {
            out.collect(in.value);
        } else {
            ctx.output(Failures.TAG, in.failure.toRecord(System.currentTimeMillis()));
        }
    }
}
