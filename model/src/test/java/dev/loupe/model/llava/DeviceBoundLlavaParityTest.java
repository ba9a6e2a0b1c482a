package dev.loupe.model.llava;

import dev.loupe.model.testing.DeviceBoundVariant;

/**
 * {@link LlavaParityTest} with the device-bound decoder runner (IoBinding, the KV cache in the execution provider's
 * memory; CPU memory here): the first-step logits come from its fused LLaMA decoder.
 */
class DeviceBoundLlavaParityTest extends LlavaParityTest implements DeviceBoundVariant {
}
