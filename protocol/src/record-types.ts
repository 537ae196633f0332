// Every MeterSeal record starts with a type byte and a version byte (docs/protocol.md §2.1), so that a
// signature over one kind of record can never be read as another kind.
export const RecordType = {
  Reading: 0x01,
  Anchor: 0x02,
  RegistrationRequest: 0x03,
  AuthResult: 0x04,
  KeyBinding: 0x05,
  IdentityCertificate: 0x06,
  AuthResponse: 0x07,
  Registration: 0x08,
  Revocation: 0x09, // issue 5: an operator revokes a meter (revocation.ts)
  MeterExchangeApproval: 0x0a, // issue 5: an operator approves a known meter's new identity key (exchange.ts)
  AuthSummary: 0x0b, // issue 3 item 4: failed authentications summarised past a threshold (auth-summary.ts)
  Delivery: 0x10,
  KeyAnnouncement: 0x11,
  Gap: 0x12, // issue 7 item 3: signed "sequences X-Y missing because ..." (gap.ts)
  InclusionPromise: 0x13, // issue 3 item 7: the ledger's signed promise to include an anchor by a deadline
  AirgapWindow: 0x14, // issue 6 item 4: an air-gap window opened or closed, signed by the controller (airgap-window.ts)
  Correction: 0x15, // issue 6 item 2: a signed correction of an earlier reading, at its own seq (correction.ts)
  PreviousLog: 0x16, // issue 3 item 9: entry 0 of a period's log, committing the previous log's final checkpoint (previous-log.ts)
  TechnicianCredential: 0x20,
  ConsoleAuthorisation: 0x21,
  OperatorCredential: 0x22, // issue 5: a credential the utility signs for an operator (operator.ts)
} as const;

/**
 * Type bytes reserved for records being built in parallel (session 2). Move a name into RecordType when
 * its encoder lands; never reuse a number once assigned.
 */
export const ReservedRecordType = {
} as const;

export type RecordTypeName = keyof typeof RecordType;

export const VERSION_1 = 0x01;
