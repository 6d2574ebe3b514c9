// What the rest of Infernet needs to know about a model to place and price it: its shape, its size on disk
// and its quantization. Plain data, so a planner test can write one by hand for a model it has never seen.

export interface ModelQuantization {
  /** llama.cpp's `general.file_type` name ('Q8_0', 'Q4_K_M', ...), when the file states it. */
  readonly fileType?: string;
  /** The ggml tensor type holding the most weights ('Q8_0', 'F16', 'BF16', ...). */
  readonly dominantTensorType: string;
}

export interface MixtureOfExperts {
  readonly count: number;
  /** Experts each token is routed through. */
  readonly used: number;
}

export interface ModelDescriptor {
  readonly name?: string;
  readonly architecture: string;
  /** Transformer blocks (`block_count`). */
  readonly layers: number;
  /** Embedding length. */
  readonly hiddenSize: number;
  readonly heads: number;
  /** Key/value heads; fewer than `heads` under grouped-query attention. */
  readonly kvHeads: number;
  readonly headDim: number;
  readonly feedForwardLength: number;
  readonly vocabularySize: number;
  /** Longest context the model was trained for. */
  readonly contextLength: number;
  readonly quantization: ModelQuantization;
  /** Sum of the element counts of all tensors. */
  readonly parameterCount: number;
  /** Bytes of the weights file; 0 when only the shape is known (the planner then uses the quantization). */
  readonly fileSizeBytes: number;
  readonly experts?: MixtureOfExperts;
}
