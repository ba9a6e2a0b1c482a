/**
 * Model runtimes for the jobs: opening a {@code --model} directory through the model-family registry
 * ({@link dev.loupe.model.ModelFamilies}) with the job's runtime options and image limits, the model options, and the tiny demo model. The jobs themselves are
 * in the subpackages: {@code streaming}, {@code caption}, {@code enrich} (with {@code bounded} and {@code table}),
 * {@code soak}, {@code demo}.
 */
package dev.loupe.jobs;
