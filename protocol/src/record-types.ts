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
  Delivery: 0x10,
  KeyAnnouncement: 0x11,
  TechnicianCredential: 0x20,
  ConsoleAuthorisation: 0x21,
} as const;

export type RecordTypeName = keyof typeof RecordType;

export const VERSION_1 = 0x01;
