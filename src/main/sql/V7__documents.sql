-- Documents and their vectors (DESIGN.md §2, §5). Every table has a tenant_id and row-level
-- security: the service role sees only the tenant of its transaction; the projection and
-- the ingest steps write as the system role.

-- Raw uploads (files, archives) waiting for their ingest run; removed when the run is done.
CREATE TABLE document_uploads (
  upload_id    text        PRIMARY KEY,
  tenant_id    text        NOT NULL,
  source       text        NOT NULL,
  content_type text        NOT NULL,
  bytes        bytea       NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

-- Text extracted by an ingest run, one row per document, until the run has embedded it.
CREATE TABLE ingest_items (
  run_id       text        NOT NULL,
  idx          integer     NOT NULL,
  tenant_id    text        NOT NULL,
  doc_id       text        NOT NULL,
  source       text        NOT NULL,
  content_type text        NOT NULL,
  metadata     jsonb       NOT NULL DEFAULT '{}',
  text         text        NOT NULL,
  -- the chunk list once the chunk step has run
  chunks       jsonb,
  expires_at   timestamptz,
  PRIMARY KEY (run_id, idx)
);

-- (tenant, embedder, text hash) → vector: written by the embed step before the Document
-- event, read by the vectors projection, so a replay never recomputes an embedding.
CREATE TABLE embeddings (
  tenant_id  text        NOT NULL,
  embedder   text        NOT NULL,
  text_hash  text        NOT NULL,
  embedding  vector      NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, embedder, text_hash)
);

CREATE TABLE documents (
  tenant_id    text        NOT NULL,
  doc_id       text        NOT NULL,
  source       text        NOT NULL,
  content_type text        NOT NULL,
  metadata     jsonb       NOT NULL DEFAULT '{}',
  version      integer     NOT NULL,
  chunk_count  integer     NOT NULL,
  embedder     text        NOT NULL,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  expires_at   timestamptz,
  PRIMARY KEY (tenant_id, doc_id)
);
CREATE INDEX documents_by_update ON documents (tenant_id, updated_at DESC, doc_id DESC);

-- The embedding column has no fixed width: each embedder writes its own, and each
-- supported width has a partial HNSW index on the expression the searches use.
CREATE TABLE rag_chunks (
  tenant_id    text        NOT NULL,
  doc_id       text        NOT NULL,
  version      integer     NOT NULL,
  chunk_id     text        NOT NULL,
  source       text        NOT NULL,
  position     integer     NOT NULL,
  text         text        NOT NULL,
  heading_path text        NOT NULL DEFAULT '',
  metadata     jsonb       NOT NULL DEFAULT '{}',
  embedder     text        NOT NULL,
  embedding    vector      NOT NULL,
  expires_at   timestamptz,
  PRIMARY KEY (tenant_id, doc_id, chunk_id)
);
CREATE INDEX rag_chunks_by_source ON rag_chunks (tenant_id, source text_pattern_ops);
CREATE INDEX rag_chunks_metadata ON rag_chunks USING gin (metadata jsonb_path_ops);
CREATE INDEX rag_chunks_expiry ON rag_chunks (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX rag_chunks_hnsw_384 ON rag_chunks USING hnsw ((embedding::vector(384)) vector_cosine_ops)
  WHERE vector_dims(embedding) = 384;
CREATE INDEX rag_chunks_hnsw_768 ON rag_chunks USING hnsw ((embedding::vector(768)) vector_cosine_ops)
  WHERE vector_dims(embedding) = 768;
CREATE INDEX rag_chunks_hnsw_1024 ON rag_chunks USING hnsw ((embedding::vector(1024)) vector_cosine_ops)
  WHERE vector_dims(embedding) = 1024;
CREATE INDEX rag_chunks_hnsw_1536 ON rag_chunks USING hnsw ((embedding::vector(1536)) vector_cosine_ops)
  WHERE vector_dims(embedding) = 1536;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['document_uploads', 'ingest_items', 'embeddings', 'documents', 'rag_chunks'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = atrium_current_tenant()) '
                   'WITH CHECK (tenant_id = atrium_current_tenant())', t);
  END LOOP;
END
$$;
