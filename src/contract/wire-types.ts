// TypeScript shapes of the wire values, following the model at its newest version (Services88).
// test/contract/wsdl-fresh.test.ts checks their member names and order against the model.
//
// Conventions a model-driven serializer follows:
// - property order is sequence order; base (Carrier) members come first;
// - a property that is undefined is the serializer's choice (WCF writes every member: nil for a
//   nillable one, the default value otherwise); null means xsi:nil and only nillable members take it;
// - members newer than the client's version (ErrorsEmail..LastError before 88, Associate.UserName
//   in 85) are not written for that version;
// - collections (ArrayOfX) and dictionaries are JS arrays of their items;
// - enums are their names; flags enums (xs:list) are arrays of names, [] meaning 0.

export type KeyValueWire<V> = { Key: string | null; Value: V | null };
export type StringDictionaryWire = KeyValueWire<string>[];
/** Values are xs:anyType: the serializer writes an xsi:type for each. */
export type StringObjectDictionaryWire = KeyValueWire<unknown>[];
export type ArrayOfStringWire = (string | null)[];
export type ArrayOfIntWire = number[];

export type WebhookStateWire = 'Unknown' | 'Active' | 'Stopped' | 'TooManyErrors';
export type WebhookNotifyViaWire = ('Email' | 'InApp')[];
export type WebhookNotifyWhenWire = ('FirstFailure' | 'Disabling')[];
export type UserTypeWire = 'Unknown' | 'InternalAssociate' | 'ResourceAssociate' | 'ExternalAssociate'
  | 'AnonymousAssociate' | 'SystemAssociate';
export type ETableRightWire = ('Select' | 'Update' | 'Insert' | 'Delete' | 'Filtering' | 'RestrictedUpdate'
  | 'Unused1' | 'Uninitialized' | 'R' | 'F')[];
export type EFieldRightWire = ('Read' | 'Write' | 'Unused1' | 'Unused2' | 'Unused3' | 'Unused4' | 'UIHintMandatory'
  | 'UIHintReadOnly' | 'UndefinedValue256' | 'Nullable')[];

export interface TableRightWire { Mask?: ETableRightWire; Reason?: string | null }
export interface FieldRightWire { Mask?: EFieldRightWire; Reason?: string | null }
export interface FieldPropertyWire { FieldRight?: FieldRightWire | null; FieldType?: string | null; FieldLength?: number }

export interface CarrierWire {
  TableRight?: TableRightWire | null;
  FieldProperties?: KeyValueWire<FieldPropertyWire>[] | null;
}

export interface AssociateWire extends CarrierWire {
  AssociateId?: number;
  Name?: string | null;
  PersonId?: number;
  /** xs:short */
  Rank?: number;
  Tooltip?: string | null;
  Type?: UserTypeWire;
  GroupIdx?: number;
  FullName?: string | null;
  FormalName?: string | null;
  Deleted?: boolean;
  EjUserId?: number;
  UserName?: string | null;
  ExtraFields?: StringDictionaryWire | null;
  CustomFields?: StringDictionaryWire | null;
}

export interface MDOListItemWire extends CarrierWire {
  Id?: number;
  Name?: string | null;
  ToolTip?: string | null;
  Deleted?: boolean;
  Rank?: number;
  Type?: string | null;
  ChildItems?: (MDOListItemWire | null)[] | null;
  IconHint?: string | null;
  ColorBlock?: number;
  ExtraInfo?: string | null;
  StyleHint?: string | null;
  FullName?: string | null;
}

export interface WebhookWire {
  WebhookId?: number;
  Name?: string | null;
  Events?: ArrayOfStringWire | null;
  TargetUrl?: string | null;
  Secret?: string | null;
  State?: WebhookStateWire;
  Type?: string | null;
  Headers?: StringDictionaryWire | null;
  Properties?: StringObjectDictionaryWire | null;
  Registered?: Date;
  RegisteredAssociate?: AssociateWire | null;
  Updated?: Date;
  UpdatedAssociate?: AssociateWire | null;
  ErrorsEmail?: string | null;
  ErrorEmails?: ArrayOfStringWire | null;
  ErrorAssociates?: (MDOListItemWire | null)[] | null;
  Description?: string | null;
  NotifyVia?: WebhookNotifyViaWire;
  NotifyWhen?: WebhookNotifyWhenWire;
  TotalCalls?: number;
  TotalErrors?: number;
  ConsecutiveErrors?: number;
  LastError?: string | null;
}

export interface WebhookResultWire extends CarrierWire {
  Success?: boolean;
  Message?: string | null;
}

export interface SoExceptionInfoWire {
  Message?: string | null;
  StackTrace?: string | null;
  FriendlyText?: string | null;
  ExceptionType?: string | null;
  Source?: string | null;
  InnerException?: SoExceptionInfoWire | null;
  Parameters?: KeyValueWire<string>[] | null;
}

export type SoExtraInfoWire = KeyValueWire<string>[];
export interface SoTimeZoneWire { SoTimeZoneId?: number; SoTimeZoneLocationCode?: string | null }
export interface SoCredentialsWire { Ticket?: string | null }

/** Request headers of Webhook.svc; SoPrincipal.svc takes only ApplicationToken. */
export interface RequestHeadersWire {
  ApplicationToken?: string | null;
  Credentials?: SoCredentialsWire | null;
  TimeZone?: SoTimeZoneWire | null;
}

/** Response headers of every operation, in WSDL order. Succeeded is the one non-nillable header. */
export interface ResponseHeadersWire {
  ExceptionInfo?: SoExceptionInfoWire | null;
  ExtraInfo?: SoExtraInfoWire | null;
  Succeeded: boolean;
  TimeZone?: SoTimeZoneWire | null;
}

export type LicenseTypeWire = 'Unknown' | 'SiteLicense' | 'SatelliteLicense' | 'UserLicense';
export type RoleTypeWire = 'Employee' | 'ExternalUser' | 'Anonymous' | 'System';
export type EjUserStatusWire = 'StatusNone' | 'StatusNormal' | 'StatusNotAvailable' | 'StatusDeleted'
  | 'StatusReadOnly' | 'StatusSpm' | 'StatusSystem';

export interface GrantedModuleLicenseWire extends CarrierWire {
  OwnerId?: number;
  OwnerName?: string | null;
  OwnerDescription?: string | null;
  ModuleId?: number;
  Name?: string | null;
  Description?: string | null;
  Version?: string | null;
  LicenseType?: LicenseTypeWire;
  ExtraFlags?: number;
  SortOrder?: number;
  LicenseNumber?: number;
  IsHidden?: boolean;
  IsUnrestricted?: boolean;
  ExpiryDate?: Date;
}

export interface ProvidedCredentialWire {
  Type?: string | null;
  SearchName?: string | null;
  DisplayName?: string | null;
  CredentialId?: number;
}

export interface SoPrincipalCarrierWire {
  UserType?: UserTypeWire;
  Associate?: string | null;
  AssociateId?: number;
  IsPerson?: boolean;
  PersonId?: number;
  CountryId?: number;
  HomeCountryId?: number;
  ContactId?: number;
  GroupId?: number;
  BusinessId?: number;
  CategoryId?: number;
  ContactOwner?: number;
  RoleId?: number;
  RoleName?: string | null;
  RoleDescription?: string | null;
  RoleType?: RoleTypeWire;
  Licenses?: (GrantedModuleLicenseWire | null)[] | null;
  FullName?: string | null;
  EMailAddress?: string | null;
  FunctionRights?: ArrayOfStringWire | null;
  EjUserId?: number;
  EjAccessLevel?: number;
  EjUserStatus?: EjUserStatusWire;
  ProvidedCredentials?: (ProvidedCredentialWire | null)[] | null;
  SecondaryGroups?: ArrayOfIntWire | null;
  DatabaseContextIdentifier?: string | null;
}

/** Body of AuthenticateResponse, the answer of all four Authenticate* operations. */
export interface AuthenticateResponseWire {
  Response?: SoPrincipalCarrierWire | null;
  Credentials?: SoCredentialsWire | null;
  AuthenticationSucceeded?: boolean;
}

export type NetServerBuildTypeWire = 'Feature' | 'Stable' | 'Alpha' | 'Beta' | 'ReleaseCandidate' | 'Release';

export interface ModuleLicenseWire {
  OwnerName?: string | null;
  ModuleName?: string | null;
  ModuleDescription?: string | null;
  ModuleTooltip?: string | null;
  ModuleVersion?: string | null;
  LicenseType?: LicenseTypeWire;
  Unrestricted?: boolean;
  AllowedUserType?: UserTypeWire;
  NumberOfLicenses?: number;
  ExtraFlags?: number;
  ExtraInfo?: string | null;
  SortOrder?: number;
  IsHidden?: boolean;
  PrerequisiteModuleName?: string | null;
  Signature?: string | null;
}

/** DSAParameters is an IsValueType struct: every member is required. */
export interface DSAParametersWire {
  Counter: number;
  G: Uint8Array | null;
  J: Uint8Array | null;
  P: Uint8Array | null;
  Q: Uint8Array | null;
  Seed: Uint8Array | null;
  Y: Uint8Array | null;
}

export interface SignedPublicKeyWire {
  OwnerName?: string | null;
  SignDate?: Date;
  ExpiryDate?: Date;
  Key?: DSAParametersWire;
  Signature?: string | null;
}

export interface LicenseInfoWire {
  CompanyName?: string | null;
  SerialNr?: string | null;
  OwnerName?: string | null;
  OwnerDescription?: string | null;
  NextCheckDate?: Date;
  MaintenanceDate?: Date;
  AdminWarningDate?: Date;
  ExpiryDate?: Date;
  GraceDate?: Date;
  ExtraFlags?: number;
  LicenseUrl?: string | null;
  LicenseVersion?: string | null;
  DeploymentType?: number;
  ProductType?: string | null;
  ProductDescription?: string | null;
  ModuleLicenses?: (ModuleLicenseWire | null)[] | null;
  PublicKey?: SignedPublicKeyWire | null;
  Signature?: string | null;
}

export interface SoSystemInfoCarrierWire extends CarrierWire {
  License?: LicenseInfoWire | null;
  WarningEnglish?: string | null;
  WarningResource?: string | null;
  BranchName?: string | null;
  BuildLabel?: string | null;
  AssemblyVersion?: string | null;
  AccumulatedNextCheckDate?: Date;
  FileVersion?: string | null;
  Description?: string | null;
  DaysUntilNetServerExpiry?: number;
  BuildType?: NetServerBuildTypeWire;
  DatabaseVersion?: number;
  IsUnicode?: boolean;
  CompanyName?: string | null;
  CompanyId?: number;
  DatabaseType?: string | null;
  DatabaseMinor?: string | null;
  DatabaseName?: string | null;
  IsOnTravel?: boolean;
  IsSatellite?: boolean;
}

/** Body wrappers of Webhook.svc, by element name. */
export interface WebhookBodiesWire {
  CreateDefaultWebhook: Record<string, never>;
  CreateDefaultWebhookResponse: { Response?: WebhookWire | null };
  SaveWebhook: { Webhook?: WebhookWire | null };
  SaveWebhookResponse: { Response?: WebhookWire | null };
  DeleteWebhook: { WebhookId?: number };
  DeleteWebhookResponse: Record<string, never>;
  GetWebhook: { WebhookId?: number };
  GetWebhookResponse: { Response?: WebhookWire | null };
  GetAllWebhooks: { NameFilter?: string | null; EventFilter?: string | null; StatusFilter?: WebhookStateWire };
  GetAllWebhooksResponse: { Response?: (WebhookWire | null)[] | null };
  TestWebhook: { Webhook?: WebhookWire | null };
  TestWebhookResponse: { Response?: WebhookResultWire | null };
  SignalEvent: { EventName?: string | null; PrimaryKey?: number; Data?: StringObjectDictionaryWire | null };
  SignalEventResponse: Record<string, never>;
  GetLastError: { WebhookId?: number };
  GetLastErrorResponse: { Response?: string | null };
}

/** Body wrappers of SoPrincipal.svc, by element name. */
export interface SoPrincipalBodiesWire {
  GetSystemInfo: Record<string, never>;
  GetSystemInfoResponse: { SystemInfo?: SoSystemInfoCarrierWire | null };
  AuthenticateImplicit: Record<string, never>;
  AuthenticateUsernamePassword: { UserName?: string | null; Password?: string | null };
  AuthenticateGeneric: { AuthenticationData?: KeyValueWire<string>[] | null };
  AuthenticateWithAccessToken: { AccessToken?: string | null };
  AuthenticateResponse: AuthenticateResponseWire;
}
