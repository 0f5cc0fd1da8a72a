-- pgvector: the rag module's rag_chunks.embedding and embeddings tables use it.
-- CREATE EXTENSION needs the owner to be allowed to create it (a superuser, or a
-- trusted-extension setup on managed PostgreSQL); the embedded database's owner is.
CREATE EXTENSION IF NOT EXISTS vector;
