package org.bytedeco.openvino.presets;

import org.bytedeco.javacpp.annotation.Properties;

/**
 * Stands in for JavaCPP's OpenVINO preset class, which {@code org.bytedeco.onnxruntime.presets.onnxruntime} names in
 * its {@code @Properties(inherit = ...)}: JavaCPP's loader reads that annotation before loading ONNX Runtime, and the
 * OpenVINO preset jar ({@code org.bytedeco:openvino:2026.2.1-1.5.14}) is not published on Maven Central. Loupe never
 * appends ONNX Runtime's OpenVINO provider, so the preset contributes nothing here: no libraries, no includes.
 */
@Properties()
public class openvino {}
