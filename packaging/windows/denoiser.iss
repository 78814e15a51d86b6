; Inno Setup script for Denoiser: a per-user installer (no administrator
; rights) for the PyInstaller onedir folder dist\Denoiser.
;
;   iscc /DAppVersion=1.2.3 packaging\windows\denoiser.iss
;
; Optional defines: /DDistDir=<onedir folder>  (default ..\..\dist\Denoiser)
; Options: /O<output folder>  /F<installer file name without .exe>
; packaging\build.py passes all of these.

#ifndef AppVersion
  #error Pass the version on the command line: iscc /DAppVersion=1.2.3 denoiser.iss
#endif
#ifndef DistDir
  #define DistDir "..\..\dist\Denoiser"
#endif
#define AppName "Denoiser"
#define AppExe "Denoiser.exe"
#define AppIcon SourcePath + "..\..\resources\icons\app.ico"

[Setup]
; AppId identifies the product to Windows for upgrades and uninstalling;
; never change it once an installer has been released.
AppId={{A9360B42-93D5-459D-B9F6-34D627D9D1BC}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Denoiser contributors
; Per-user install: {autopf} becomes %LOCALAPPDATA%\Programs and shortcuts
; go to the user's own Start menu and desktop.
PrivilegesRequired=lowest
DefaultDirName={autopf}\{#AppName}
DisableProgramGroupPage=yes
; torch ships 64-bit only.
ArchitecturesAllowed=x64
ArchitecturesInstallIn64BitMode=x64
OutputDir=..\..\dist\installer
OutputBaseFilename=Denoiser-{#AppVersion}-windows-x64-setup
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
UninstallDisplayName={#AppName} {#AppVersion}
UninstallDisplayIcon={app}\{#AppExe}
#if FileExists(AppIcon)
SetupIconFile={#AppIcon}
#endif

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#DistDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; Clear the previous version's bundled files so no stale library survives an upgrade.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
