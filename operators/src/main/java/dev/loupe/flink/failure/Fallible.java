package dev.loupe.flink.failure;

/**
 * Either a stage's value or its {@link StageFailure}: the output of the async fetch, which cannot use side outputs.
 * {@link FailureSplitter} turns it back into a main stream plus the {@link Failures#TAG} side output.
 */
public class Fallible<T> {
    public T value;
    public StageFailure failure;

    public Fallible() {}

    public static <T> Fallible<T> success(T value) {
        Fallible<T> f = new Fallible<>();
        f.value = value;
        return f;
    }

    public static <T> Fallible<T> failure(StageFailure failure) {
        Fallible<T> f = new Fallible<>();
        f.failure = failure;
        return f;
    }

    public boolean isSuccess() {
        return failure == null;
    }
}
