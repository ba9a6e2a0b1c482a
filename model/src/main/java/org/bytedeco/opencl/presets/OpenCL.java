package org.bytedeco.opencl.presets;

import org.bytedeco.javacpp.annotation.Properties;

/**
 * Stands in for JavaCPP's OpenCL preset class, which the oneDNN preset that ONNX Runtime's preset inherits names in
 * its {@code @Properties(inherit = ...)}; {@code org.bytedeco:opencl:3.1-1.5.14} is not published on Maven Central.
 * Loupe never uses OpenCL, so the preset contributes nothing: no libraries, no includes. (See the OpenVINO one.)
 */
@Properties()
public class OpenCL {}
