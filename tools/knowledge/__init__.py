"""The knowledge base: the documents and their chunks, the embedding functions, the lexical
(BM25) half of hybrid search and the Chroma index."""
