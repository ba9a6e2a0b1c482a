package dev.loupe.model.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.model.api.AdmissionOrder;
import java.util.ArrayDeque;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which waiting requests a {@link DecodeScheduler} lets join, in either {@link AdmissionOrder}. */
class DecodeSchedulerTest {

    /** A waiting request: a name and its max new tokens (identity equality, as the loop's rows). */
    private static final class Request {
        final String name;
        final int newTokens;

        Request(String name, int newTokens) {
            this.name = name;
            this.newTokens = newTokens;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private static DecodeScheduler<Request> scheduler(AdmissionOrder order) {
        return new DecodeScheduler<>(16, 4, order, r -> r.newTokens);
    }

    private static ArrayDeque<Request> waiting(Request... requests) {
        return new ArrayDeque<>(List.of(requests));
    }

    @Test
    void arrivalOrderTakesTheFirstComers() {
        Request a = new Request("a", 64), b = new Request("b", 4), c = new Request("c", 32), d = new Request("d", 8);
        ArrayDeque<Request> waiting = waiting(a, b, c, d);
        assertThat(scheduler(AdmissionOrder.ARRIVAL).take(waiting, 2)).containsExactly(a, b);
        assertThat(waiting).containsExactly(c, d);
    }

    @Test
    void shortestFirstTakesTheFewestNewTokensAndLeavesTheRestInArrivalOrder() {
        Request a = new Request("a", 64), b = new Request("b", 8), c = new Request("c", 32), d = new Request("d", 4),
                e = new Request("e", 8);
        ArrayDeque<Request> waiting = waiting(a, b, c, d, e);
        // d (4), then b and e (8, in arrival order); the group keeps its arrival order
        assertThat(scheduler(AdmissionOrder.SHORTEST_FIRST).take(waiting, 3)).containsExactly(b, d, e);
        assertThat(waiting).containsExactly(a, c);
    }

    @Test
    void everyoneJoinsWhenAllFit() {
        Request a = new Request("a", 64), b = new Request("b", 4);
        ArrayDeque<Request> waiting = waiting(a, b);
        assertThat(scheduler(AdmissionOrder.SHORTEST_FIRST).take(waiting, 4)).containsExactly(a, b);
        assertThat(waiting).isEmpty();
    }

    @Test
    void aLongRequestPassedOverTooOftenJoinsNext() {
        DecodeScheduler<Request> scheduler = scheduler(AdmissionOrder.SHORTEST_FIRST);
        Request longOne = new Request("long", 64);
        ArrayDeque<Request> waiting = waiting(longOne);
        for (int k = 0; k < DecodeScheduler.MAX_PASSOVERS; k++) {
            Request shortOne = new Request("short" + k, 4);
            waiting.add(shortOne);
            assertThat(scheduler.take(waiting, 1)).as("admission " + k).containsExactly(shortOne);
        }
        Request later = new Request("later", 2);
        waiting.add(later);
        assertThat(scheduler.take(waiting, 1)).containsExactly(longOne);
        assertThat(scheduler.take(waiting, 1)).containsExactly(later);
    }

    @Test
    void theOrderIsParsedFromItsName() {
        assertThat(AdmissionOrder.parse("shortest-first")).isEqualTo(AdmissionOrder.SHORTEST_FIRST);
        assertThat(AdmissionOrder.parse(" Arrival ")).isEqualTo(AdmissionOrder.ARRIVAL);
        assertThat(AdmissionOrder.parse("shortest_first")).isEqualTo(AdmissionOrder.SHORTEST_FIRST);
        assertThat(AdmissionOrder.SHORTEST_FIRST.label()).isEqualTo("shortest-first");
        assertThatThrownBy(() -> AdmissionOrder.parse("longest-first"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("arrival or shortest-first");
    }
}
