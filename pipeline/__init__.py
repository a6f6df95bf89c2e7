"""The pipeline: normalize -> identify and dedupe -> store, as plain functions over batches."""
