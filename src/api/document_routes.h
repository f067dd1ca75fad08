#pragma once

// Documents and their download links over HTTP (DESIGN §3, §4, §5):
//   POST /api/v1/contracts/{id}/documents   raw body, streamed; X-Filename (percent-encoded
//                                           UTF-8 allowed) is kept as metadata only
//   GET  /api/v1/contracts/{id}/documents   every version
//   GET  /api/v1/documents/{id}             one version's metadata
//   DELETE /api/v1/documents/{id}           removes that version
//   POST /api/v1/documents/{id}/link        -> {url, expires_at}
//   GET  /files/{token}                     the bytes, for the holder of a valid link
// Reads for every role; a `user` uploads to and deletes from contracts they own. A link
// lives the tenant's link_minutes (at most 60) and, when links_bound_to_session is on
// (the default), works only with the session or API token that made it. The download is
// the only way to a document's bytes: attachment, nosniff, no-store, Range supported.
// Register after RegisterAuthRoutes.

#include "api/auth_routes.h"
#include "document/document_service.h"
#include "http/router.h"

namespace pactum::api {

void RegisterDocumentRoutes(http::Router& router, document::DocumentService& documents,
                            AuthDeps auth);

}  // namespace pactum::api
