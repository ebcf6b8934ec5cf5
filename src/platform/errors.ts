// Typed domain errors. Services throw these; the one error handler (src/web/errors.tsx) maps
// them to a status, a clear message and the request id. Anything else is a 500 that shows no
// internals.
export class DomainError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class BadRequestError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(400, 'bad_request', message, details);
  }
}
export class UnauthenticatedError extends DomainError {
  constructor(message = 'Vous devez vous connecter.') {
    super(401, 'unauthenticated', message);
  }
}
export class ForbiddenError extends DomainError {
  constructor(message = "Vous n'avez pas accès à cette page.") {
    super(403, 'forbidden', message);
  }
}
export class NotFoundError extends DomainError {
  constructor(message = "Cette page n'existe pas.") {
    super(404, 'not_found', message);
  }
}
export class ConflictError extends DomainError {
  constructor(message: string) {
    super(409, 'conflict', message);
  }
}
export class PayloadTooLargeError extends DomainError {
  constructor(message: string) {
    super(413, 'payload_too_large', message);
  }
}
export class UnavailableError extends DomainError {
  constructor(message: string) {
    super(503, 'unavailable', message);
  }
}
