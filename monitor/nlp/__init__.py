"""Text → labels: normalisation, the WordPiece tokenizer, the BiLSTM, training and inference."""
