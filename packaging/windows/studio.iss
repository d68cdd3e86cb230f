; Inno Setup script for Studio (https://jrsoftware.org/isinfo.php).
; packaging/build.py runs it after PyInstaller when iscc is on PATH, or by hand:
;   iscc /DFlavour=cloud /DVersion=0.1.0 /DDist=packaging\dist\cloud packaging\windows\studio.iss
; Installs per user (no admin prompt) into %LOCALAPPDATA%\Programs\Studio; user data stays in
; %LOCALAPPDATA%\Studio and survives uninstalling.

#ifndef Flavour
  #define Flavour "cloud"
#endif
#ifndef Version
  #define Version "0.1.0"
#endif
#ifndef Dist
  #define Dist "..\dist\" + Flavour
#endif

[Setup]
; One AppId for both flavours: installing full over cloud upgrades in place.
AppId={{6C1B7E52-4C1E-4F59-9B86-1D3A2E9F5A10}
AppName=Studio
AppVersion={#Version}
AppVerName=Studio {#Version} ({#Flavour})
AppPublisher=Studio
DefaultDirName={autopf}\Studio
DefaultGroupName=Studio
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#Dist}
OutputBaseFilename=studio-{#Flavour}-{#Version}-setup
SetupIconFile=..\..\resources\icons\studio.ico
UninstallDisplayIcon={app}\Studio.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesAssociations=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "pngassoc"; Description: "Offer Studio in ""Open with"" for PNG images"; GroupDescription: "File types:"

[Files]
Source: "{#Dist}\Studio\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\Studio"; Filename: "{app}\Studio.exe"
Name: "{autodesktop}\Studio"; Filename: "{app}\Studio.exe"; Tasks: desktopicon

[Registry]
; A ProgID plus OpenWithProgids: Studio appears under "Open with" for .png without taking over
; the user's default image viewer.
Root: HKA; Subkey: "Software\Classes\Studio.png"; ValueType: string; ValueName: ""; ValueData: "PNG image (Studio)"; Flags: uninsdeletekey; Tasks: pngassoc
Root: HKA; Subkey: "Software\Classes\Studio.png\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\Studio.exe,0"; Tasks: pngassoc
Root: HKA; Subkey: "Software\Classes\Studio.png\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\Studio.exe"" ""%1"""; Tasks: pngassoc
Root: HKA; Subkey: "Software\Classes\.png\OpenWithProgids"; ValueType: string; ValueName: "Studio.png"; ValueData: ""; Flags: uninsdeletevalue; Tasks: pngassoc
Root: HKA; Subkey: "Software\Classes\Applications\Studio.exe\SupportedTypes"; ValueType: string; ValueName: ".png"; ValueData: ""; Flags: uninsdeletekey; Tasks: pngassoc

[Run]
Filename: "{app}\Studio.exe"; Description: "{cm:LaunchProgram,Studio}"; Flags: nowait postinstall skipifsilent
